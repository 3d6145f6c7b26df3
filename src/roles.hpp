// roles.hpp - which square pieces are inp layers and which out layers.
//
// When the hidden width equals the stream width (d == h) every block piece is d x d, so the
// shapes cannot tell the roles apart. The weights can, in networks trained long enough: the
// right partner is the one whose product looks most like a negative multiple of the identity,
// and trace(W_b W_a) = trace(W_a W_b) makes that score blind to which is first, so the roles
// come from two asymmetric fingerprints. A guess, never a proof: with data, the search and
// solve's role flips (solve.cpp) settle it; without, the answer is as good as this guess.
#pragma once

#include <vector>

#include "humpty/model.hpp"

namespace humpty {

// Pairs the square pieces `square` (an even number of d x d pieces of `pieces`) into blocks and
// gives each block's roles, by the pairing's trace and unit scores (each standardised, summed)
// in the better of a pair's two orientations. Measured (pairs right of 24; the roles of the right
// pairs): PyTorch nets of d = h = 32 after 120 epochs, Adam 24 and AdamW 24 (22 and 22); after 40
// epochs, Adam 2 and AdamW 13 (20 and 23); humpty's own nets of 8-24 blocks, 0-5 after 40-80
// epochs, 14 after 120. Where the pairs are wrong, only data can tell (and the search's repairs
// keep the roles they start from).
std::vector<Block> square_blocks(const std::vector<Layer>& pieces, const std::vector<int>& square);

}  // namespace humpty
