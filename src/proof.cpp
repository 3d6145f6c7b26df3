// The proof: how closely an assembled network reproduces the data (the search scores with
// evaluator.cpp; this runs an assembly once on every row).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "humpty/solve.hpp"
#include "network.hpp"
#include "storage.hpp"

namespace humpty {

double rounding_tolerance(const Dataset& data) {
  double mean_square = 0;
  for (double p : data.pred) mean_square += p * p;
  mean_square /= double(std::max<std::size_t>(data.rows, 1));
  return 1e-10 * std::max(mean_square, 1e-12);
}

const char* tolerance_name(const Fit& fit) {
  return fit.stored_bits == 23   ? "rounding level"
         : fit.stored_bits == 10 ? "float16 storage level"
                                 : "bfloat16 storage level";
}

const char* stored_format(const Fit& fit) {
  return fit.stored_bits == 23 ? "float32" : fit.stored_bits == 10 ? "float16" : "bfloat16";
}

double pred_variance(const Dataset& data) {
  double sum = 0, sum_squares = 0;
  for (double p : data.pred) sum += p;
  const double mean = data.rows ? sum / double(data.rows) : 0;
  for (double p : data.pred) sum_squares += (p - mean) * (p - mean);
  return data.rows ? sum_squares / double(data.rows) : -1;
}

std::size_t rows_to_prove(std::size_t blocks, const Dataset& data) {
  return rows_to_prove(blocks, data, rounding_tolerance(data));
}

std::size_t rows_to_prove(std::size_t blocks, const Dataset& data, double tolerance) {
  if (blocks < 2) return 1;  // one assembly: nothing to tell it from
  const double spread = std::sqrt(std::max(pred_variance(data), 0.0));
  const double scatter = 0.01 * spread, rounding = std::sqrt(tolerance);
  // Odds that a normal scatter lands within the rounding error of pred: 2 e / (s sqrt(2 pi)).
  const double bits = std::log2(scatter * std::sqrt(2 * std::acos(-1.0)) / (2 * rounding));
  if (!(bits >= 1)) return SIZE_MAX;
  const double assemblies = 2 * std::lgamma(double(blocks) + 1) / std::log(2.0);  // log2 (blocks!)^2
  return std::size_t(std::ceil((assemblies + 64) / bits));
}

Status check_data(const Puzzle& puzzle, const Dataset& data) {
  if (data.features != puzzle.dim) {
    return Status::failure(data.source + ": data has " + std::to_string(data.features) +
                           " feature columns, the network's input width is " + std::to_string(puzzle.dim) +
                           " (" + puzzle.source + ")");
  }
  if (puzzle.outputs != data.outputs) {
    const std::string columns =
        data.outputs == 1 ? "one 'pred' column" : std::to_string(data.outputs) + " pred columns";
    return Status::failure(
        data.source + ": data has " + columns + ", but the last layer of " + puzzle.source + " has " +
        std::to_string(puzzle.outputs) + " output" + (puzzle.outputs == 1 ? "" : "s") +
        (puzzle.outputs > 1 ? " (name them pred_0 .. pred_" + std::to_string(puzzle.outputs - 1) + ")" : ""));
  }
  return Status();
}

Result<Fit> evaluate(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, int threads) {
  ThreadPool pool(threads);
  return evaluate(puzzle, assembly, data, pool);
}

Result<Fit> evaluate(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, ThreadPool& pool) {
  if (Status status = check_data(puzzle, data); !status) return status;
  if (Status status = check_assembly(puzzle, assembly); !status) return status;
  const PackedPuzzle net = pack_puzzle(puzzle);
  if (data.outputs == 1) {
    Fit fit = fit_outputs(network_outputs(net, assembly, data, pool), data, assembly.blocks.size());
    allow_for_storage(fit, puzzle, assembly, data, pool);
    return fit;
  }
  // The search fits output 0; the others are checked here too, each against its own rounding,
  // from the same pass over the rows.
  std::vector<float> first, rest;
  every_output(net, puzzle.pieces[std::size_t(puzzle.last_piece)], assembly, data, pool, first, rest);
  Fit fit = fit_outputs(first, data, assembly.blocks.size());
  double sum = 0, mean_square = 0, sum_true = 0;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const double error = double(rest[i]) - data.pred_rest[i];
    sum += error * error;
    mean_square += data.pred_rest[i] * data.pred_rest[i];
    fit.max_error = std::max(fit.max_error, std::fabs(error));
    if (data.has_truth())
      sum_true += (double(rest[i]) - data.truth_rest[i]) * (double(rest[i]) - data.truth_rest[i]);
  }
  fit.mse_rest = sum / double(rest.size());
  fit.tolerance_rest = 1e-10 * std::max(mean_square / double(rest.size()), 1e-12);
  // Against the targets, every output counts, as in the loss nn.MSELoss reports for them.
  if (data.has_truth())
    fit.mse_true = (fit.mse_true * double(data.rows) + sum_true) / double(data.rows * data.outputs);
  allow_for_storage(fit, puzzle, assembly, data, pool);
  return fit;
}

}  // namespace humpty
