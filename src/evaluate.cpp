// Proof: how closely an assembled network reproduces the data.
#include <algorithm>
#include <cmath>

#include "humpty/solve.hpp"
#include "network.hpp"

namespace humpty {

double rounding_tolerance(const Dataset& data) {
  double mean_square = 0;
  for (double p : data.pred) mean_square += p * p;
  mean_square /= double(std::max<std::size_t>(data.rows, 1));
  return 1e-10 * std::max(mean_square, 1e-12);
}

Status check_data(const Puzzle& puzzle, const Dataset& data) {
  if (data.features != puzzle.dim) {
    return Status::failure(data.source + ": data has " + std::to_string(data.features) +
                           " feature columns, the network's input width is " + std::to_string(puzzle.dim) +
                           " (" + puzzle.source + ")");
  }
  if (puzzle.outputs != 1) {
    return Status::failure(data.source + ": data has one 'pred' column, but the last layer of " +
                           puzzle.source + " has " + std::to_string(puzzle.outputs) + " outputs");
  }
  return Status();
}

Fit evaluate(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, int threads) {
  ThreadPool pool(threads);
  PackedPuzzle net = pack_puzzle(puzzle);
  std::vector<float> outputs = network_outputs(net, assembly, data, pool);
  Fit fit;
  fit.rows = data.rows;
  fit.tolerance = rounding_tolerance(data);
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
