// pairing.hpp - the per-unit fingerprint that pair_layers (pairing.cpp) and the square pieces'
// roles (roles.cpp) both read from the weights.
#pragma once

#include <vector>

#include "humpty/model.hpp"

namespace humpty {

// Per hidden unit of a layer, the mean of its two largest |w| (an inp layer's row and bias, an
// out layer's column), centred and scaled to unit length over the units (zeros if all are equal):
// the dot product of an inp's and an out's is the Pearson correlation of their units' tails.
std::vector<double> unit_tails(const Layer& layer, bool units_are_rows);

}  // namespace humpty
