// moved.hpp - how far training moved each block's weights out of PyTorch's initial range: a
// fingerprint of depth that needs no data, used by the bias path (ordering.cpp) where the biases
// carry no chain, and by the relaxation's prior (search_relax.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "humpty/solve.hpp"

namespace humpty {

// The share of a piece's weights and biases outside PyTorch's initial range for nn.Linear, |w| <=
// 1/sqrt(fan_in) (Kaiming-uniform weights, uniform biases): only training puts them there. A layer
// without a bias has no bias to move: its zeros are not counted.
double moved_share(const Layer& layer);

// Each block's inp's and out's moved shares, summed.
std::vector<double> moved_shares(const Puzzle& puzzle, const std::vector<Block>& blocks);

// How many different values there are: where most blocks tie (an untrained net's shares are all
// 0), a ranking by them is the given order, not the weights'.
std::size_t distinct_values(std::vector<double> values);

}  // namespace humpty
