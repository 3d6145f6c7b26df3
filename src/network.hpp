// network.hpp - a puzzle's layers packed for the kernels, and the forward pass over data rows.
#pragma once

#include <cstddef>
#include <vector>

#include "humpty/model.hpp"
#include "humpty/fit.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace humpty {

// Rows are evaluated in chunks of this many: the chunk's stream and hidden activations stay in
// the L1 cache through a whole block, and the chunk boundaries (hence every partial sum) do not
// depend on the number of threads. A multiple of both kernels' row tiles (6 and 2).
constexpr std::size_t kChunkRows = 48;

struct PackedPuzzle {
  std::size_t dim = 0, hidden = 0;
  std::size_t dim_padded = 0, hidden_padded = 0;
  std::vector<PackedLinear> pieces;      // by piece index; inp and out pieces only
  std::vector<PackedLinear> transposed;  // by piece index: W^T packed, for backward passes
  std::vector<float> last_weight;        // the last layer's first output row, dim values
  float last_bias = 0;

  const PackedLinear& piece(int k) const { return pieces[std::size_t(k)]; }
  const PackedLinear& piece_transposed(int k) const { return transposed[std::size_t(k)]; }
};

PackedPuzzle pack_puzzle(const Puzzle& puzzle);

// Copies `count` rows of features, starting at `first`, into stream rows of dim_padded floats.
void load_rows(const Dataset& data, std::size_t first, std::size_t count, std::size_t dim_padded,
               float* stream);

// Gathers the rows listed in `rows` into a stream.
void load_rows(const Dataset& data, const std::vector<std::size_t>& rows, std::size_t dim_padded,
               float* stream);

// The network's (first) output for one stream row: last_bias + sum_k x_k w_k in order k = 0..d-1.
inline float output_of(const PackedPuzzle& net, const float* x) {
  float y = net.last_bias;
  for (std::size_t k = 0; k < net.dim; ++k) y += x[k] * net.last_weight[k];
  return y;
}

// Runs blocks[0..count) on `rows` stream rows in place; `hidden` is rows x hidden_padded scratch.
inline void run_blocks(const PackedPuzzle& net, const Block* blocks, std::size_t count, float* stream,
                       std::size_t rows, float* hidden) {
  for (std::size_t b = 0; b < count; ++b) {
    run_block(net.piece(blocks[b].inp), net.piece(blocks[b].out), stream, rows, hidden);
  }
}

// Outputs of the assembled network for every data row, in chunks spread over the pool. Rows listed
// in `known_rows` (ascending) take the matching `known_outputs` instead of being run again: a
// search has already run its subset rows. Rows are independent, so the outputs are the same.
std::vector<float> network_outputs(const PackedPuzzle& net, const Assembly& assembly, const Dataset& data,
                                   ThreadPool& pool, const std::vector<std::size_t>& known_rows = {},
                                   const std::vector<float>& known_outputs = {});

// The stream after `blocks` for every data row: rows x dim floats, row-major, as the kernels leave
// it (the last layer not applied). Fed to the blocks that follow as a Dataset's features, it gives
// their outputs bit for bit as running the whole assembly would (rows are independent).
std::vector<float> network_streams(const PackedPuzzle& net, const std::vector<Block>& blocks,
                                   const Dataset& data, ThreadPool& pool);

// Every output of a last layer `last` of o > 1 outputs for every data row, in one pass: output 0
// into `first` (as network_outputs computes it) and outputs 1 .. o-1 into `rest`, output by output
// (rows values each, as Dataset::pred_rest), from the rows of `last` the packed network does not
// hold.
void every_output(const PackedPuzzle& net, const Layer& last, const Assembly& assembly, const Dataset& data,
                  ThreadPool& pool, std::vector<float>& first, std::vector<float>& rest);

// How closely outputs (one per data row) reproduce the data's pred (and true), for an assembly
// of `blocks` blocks (for the rows a proof needs).
Fit fit_outputs(const std::vector<float>& outputs, const Dataset& data, std::size_t blocks);

}  // namespace humpty
