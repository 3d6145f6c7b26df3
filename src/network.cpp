#include "network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "assert.hpp"

namespace humpty {

PackedPuzzle pack_puzzle(const Puzzle& puzzle) {
  PackedPuzzle net;
  net.dim = puzzle.dim;
  net.hidden = puzzle.hidden;
  net.dim_padded = pad_to_panel(puzzle.dim);
  net.hidden_padded = pad_to_panel(puzzle.hidden);
  net.pieces.resize(puzzle.pieces.size());
  net.transposed.resize(puzzle.pieces.size());
  std::vector<float> t;
  for (std::size_t k = 0; k < puzzle.pieces.size(); ++k) {
    if (puzzle.roles[k] == Role::last) continue;
    const Layer& layer = puzzle.pieces[k];
    net.pieces[k] = pack_linear(layer);
    t.resize(layer.weight.size());
    for (std::size_t r = 0; r < layer.rows; ++r) {
      for (std::size_t c = 0; c < layer.cols; ++c) t[c * layer.rows + r] = layer.weight[r * layer.cols + c];
    }
    net.transposed[k] = pack_rows(t.data(), layer.cols, layer.rows, layer.rows);
  }
  const Layer& last = puzzle.pieces[std::size_t(puzzle.last_piece)];
  net.last_weight.assign(last.weight.begin(), last.weight.begin() + std::ptrdiff_t(last.cols));
  net.last_bias = last.bias[0];
  return net;
}

void load_rows(const Dataset& data, std::size_t first, std::size_t count, std::size_t dim_padded,
               float* stream) {
  for (std::size_t r = 0; r < count; ++r) {
    const float* x = data.x.data() + (first + r) * data.features;
    float* row = stream + r * dim_padded;
    std::memcpy(row, x, data.features * sizeof(float));
    std::fill(row + data.features, row + dim_padded, 0.0f);
  }
}

void load_rows(const Dataset& data, const std::vector<std::size_t>& rows, std::size_t dim_padded,
               float* stream) {
  for (std::size_t r = 0; r < rows.size(); ++r)
    load_rows(data, rows[r], 1, dim_padded, stream + r * dim_padded);
}

namespace {

// Runs the assembly on data rows `rows` in chunks spread over the pool and calls
// visit(rows[i], stream) with each row's final stream (net.dim_padded floats). Rows are
// independent, so what a visit sees does not depend on the pool.
template <typename Visit>
void run_rows(const PackedPuzzle& net, const Assembly& assembly, const Dataset& data,
              const std::vector<std::size_t>& rows, ThreadPool& pool, Visit visit) {
  const std::size_t chunks = (rows.size() + kChunkRows - 1) / kChunkRows;
  struct Scratch {
    std::vector<float> stream, hidden;
  };
  std::vector<Scratch> scratch(std::size_t(pool.size()));
  pool.run(chunks, [&](std::size_t chunk, int worker) {
    Scratch& s = scratch[std::size_t(worker)];
    s.stream.resize(kChunkRows * net.dim_padded);
    s.hidden.resize(kChunkRows * net.hidden_padded);
    const std::size_t first = chunk * kChunkRows, count = std::min(kChunkRows, rows.size() - first);
    const std::vector<std::size_t> part(rows.begin() + std::ptrdiff_t(first),
                                        rows.begin() + std::ptrdiff_t(first + count));
    load_rows(data, part, net.dim_padded, s.stream.data());
    run_blocks(net, assembly.blocks.data(), assembly.blocks.size(), s.stream.data(), count, s.hidden.data());
    for (std::size_t r = 0; r < count; ++r) visit(part[r], s.stream.data() + r * net.dim_padded);
  });
}

}  // namespace

std::vector<float> network_outputs(const PackedPuzzle& net, const Assembly& assembly, const Dataset& data,
                                   ThreadPool& pool, const std::vector<std::size_t>& known_rows,
                                   const std::vector<float>& known_outputs) {
  std::vector<float> outputs(data.rows);
  std::vector<std::size_t> rows;  // the rows to run
  rows.reserve(data.rows - known_rows.size());
  for (std::size_t r = 0, k = 0; r < data.rows; ++r) {
    if (k < known_rows.size() && known_rows[k] == r) {
      outputs[r] = known_outputs[k++];
    } else {
      rows.push_back(r);
    }
  }
  run_rows(net, assembly, data, rows, pool,
           [&](std::size_t row, const float* x) { outputs[row] = output_of(net, x); });
  return outputs;
}

std::vector<float> network_streams(const PackedPuzzle& net, const std::vector<Block>& blocks,
                                   const Dataset& data, ThreadPool& pool) {
  HUMPTY_ASSERT(data.features == net.dim);
  std::vector<float> streams(data.rows * net.dim);
  std::vector<std::size_t> rows(data.rows);
  for (std::size_t r = 0; r < data.rows; ++r) rows[r] = r;
  run_rows(net, Assembly{blocks, -1}, data, rows, pool, [&](std::size_t row, const float* x) {
    std::copy(x, x + net.dim, streams.begin() + std::ptrdiff_t(row * net.dim));
  });
  return streams;
}

void every_output(const PackedPuzzle& net, const Layer& last, const Assembly& assembly, const Dataset& data,
                  ThreadPool& pool, std::vector<float>& first, std::vector<float>& rest) {
  HUMPTY_ASSERT(last.rows > 1 && last.cols == net.dim);
  const std::size_t others = last.rows - 1;
  first.assign(data.rows, 0.0f);
  rest.assign(data.rows * others, 0.0f);
  std::vector<std::size_t> rows(data.rows);
  for (std::size_t r = 0; r < data.rows; ++r) rows[r] = r;
  run_rows(net, assembly, data, rows, pool, [&](std::size_t row, const float* x) {
    first[row] = output_of(net, x);
    for (std::size_t j = 0; j < others; ++j) {
      // Summed as output_of sums output 0: bias first, then the stream in order.
      const float* w = last.weight.data() + (j + 1) * last.cols;
      float y = last.bias[j + 1];
      for (std::size_t k = 0; k < net.dim; ++k) y += x[k] * w[k];
      rest[j * data.rows + row] = y;
    }
  });
}

Fit fit_outputs(const std::vector<float>& outputs, const Dataset& data, std::size_t blocks) {
  Fit fit;
  fit.rows = data.rows;
  fit.tolerance = rounding_tolerance(data);
  fit.rows_needed = rows_to_prove(blocks, data);
  double sum_pred = 0, sum_true = 0;
  for (std::size_t r = 0; r < data.rows; ++r) {
    double error = double(outputs[r]) - data.pred[r];
    sum_pred += error * error;
    fit.max_error = std::max(fit.max_error, std::fabs(error));
    if (data.has_truth()) {
      double miss = double(outputs[r]) - data.truth[r];
      sum_true += miss * miss;
    }
  }
  fit.mse_pred = sum_pred / double(data.rows);
  if (data.has_truth()) fit.mse_true = sum_true / double(data.rows);
  return fit;
}

}  // namespace humpty
