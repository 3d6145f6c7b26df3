// roles.hpp - which square pieces are inp layers and which out layers; pairs from the data.
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
#include "parallel.hpp"

namespace humpty {

// Pairs the square pieces `square` (an even number of d x d pieces of `pieces`) into blocks and
// gives each block's roles, by the pairing's trace and unit scores (each standardised, summed)
// in the better of a pair's two orientations. Measured (pairs right of 24; the roles of the right
// pairs): PyTorch nets of d = h = 32 after 120 epochs, Adam 24 and AdamW 24 (22 and 22); after 40
// epochs, Adam 2 and AdamW 13 (20 and 23); humpty's own nets of 8-24 blocks, 0-5 after 40-80
// epochs, 14 after 120. Where the pairs are wrong, only data can tell (and the search's repairs
// keep the roles they start from).
std::vector<Block> square_blocks(const std::vector<Layer>& pieces, const std::vector<int>& square);

// The first-order regression behind data_role_guesses and data_pairs: each (inps[i], outs[j]) of
// two different pieces is a feature, that block's output through the last layer on the raw input
// of `rows` spread rows, and pred - (w . x + c) is regressed on all of them (ridge least squares).
// Returns the coefficients, [i * outs.size() + j] (0 where the two are the same piece), or nothing
// where the least squares fail. While the stream stays near the input the residual is about the
// sum of the right blocks' outputs, so the right pairs' coefficients stand out.
std::vector<double> first_order_coefficients(const Puzzle& puzzle, const Dataset& data,
                                             const std::vector<int>& inps, const std::vector<int>& outs,
                                             std::size_t rows, ThreadPool& pool);

// Pairs from the data alone (blocks of d != h, at most `limit` of them; else nothing): the
// Hungarian algorithm's best matching of first_order_coefficients, each inp with one out. A
// guess for networks whose weights do not pair (barely trained ones), checked by the search.
// Nothing either unless more than `lead_share` of the chosen pairs lead (each the largest
// coefficient of its row and its column): where the matching is mostly won against rivals, not
// made of near ties. Measured (Python, humpty's own nets of d = 24, h = 48, 40 epochs of SGD at
// 0.001 or untrained, seeds 1-3, 4000 rows): right pairs 7-16 of 16 (median 15), 6-14 of 20, 0-16
// of 24 and 1-8 of 28 (the stream drifts from the input over more blocks, and the first-order
// view with it); on 24 nets of 12-20 blocks trained by Adam and AdamW (d = 16 and 24) 0-10 (median
// 3), and there the median chosen pair trails its best rival (on 23 of the 24) where on the 16- and
// 20-block nets above it leads on 7 of 12.
std::vector<Block> data_pairs(const Puzzle& puzzle, const Dataset& data, std::size_t rows, std::size_t limit,
                              double lead_share, ThreadPool& pool);

// Square blocks with data: the roles and pairs the data point to, best first, at most `count`
// (none where the pieces' splits into inps and outs are too many to rank, over
// SearchTuning::role_split_limit). Each ordered pair of pieces (a as an inp, b as its out) is a
// feature: its block's output through the last layer, w . (W_b relu(W_a x + b_a) + b_b), on the
// raw input x of `rows` spread rows; pred - (w . x + c) is regressed on all of them (ridge least
// squares), as the residual is near their sum for the right blocks while the stream stays near
// the input. Every split of the pieces into n inps and n outs is scored by the Hungarian
// algorithm's best matching of the coefficients, and the best splits come with that matching's
// pairs. Why: on humpty's own square nets (d = h = 8 and 16, 5-8 blocks, 0-40 epochs) the right
// split ranked first on 5 of 10, within 40 on 8 (Python; 429 and 644 of 12,870 on two 8-block
// nets), where the weights' guess had 3-6 of 6-12 inps right; given the right roles the search
// proves those nets in 0.1-4.4 s (6-12 blocks), and without them it proves none.
std::vector<Assembly> data_role_guesses(const Puzzle& puzzle, const Dataset& data, std::size_t count,
                                        std::size_t rows, double split_limit, ThreadPool& pool);

}  // namespace humpty
