// humpty/fit.hpp - the two things every layer of the library shares: how a run reports progress
// (Logger) and how well an assembly reproduces the data (Fit). Below solve.hpp, so that the
// network and the trainer need not include the solver's header.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "humpty/model.hpp"

namespace humpty {

// Progress and findings, for a human: stage ("pairing", "order", "search", ...) and one line of
// text. The library never prints; pass a logger to see what it does.
using Logger = std::function<void(const std::string& stage, const std::string& message)>;

// How well an assembly reproduces the data.
struct Fit {
  std::size_t rows = 0;
  double mse_pred = 0;   // mean squared error against `pred`
  double mse_true = -1;  // against `true` (all of true_0.. with several outputs); -1 without
  double max_error = 0;  // largest |output - pred|
  double tolerance = 0;  // the MSE below which the output equals `pred` up to float rounding
  std::size_t rows_needed = 0;  // rows an exact fit needs to rule out a coincidence (rows_to_prove)
  // With several outputs (Dataset::outputs > 1): the MSE of outputs 1.. against their pred
  // columns and its rounding tolerance (as `tolerance`, from their mean square); -1 otherwise.
  // max_error then covers every output.
  double mse_rest = -1, tolerance_rest = 0;
  // 23, unless the pieces were stored at half precision (the coarsest: 10 float16, 7 bfloat16) and
  // the fit misses pred by more than float rounding: then the tolerances also hold what rounding
  // the weights to that precision explains (storage.hpp), as pred came from the weights before.
  int stored_bits = 23;
  bool exact() const { return mse_pred <= tolerance && mse_rest <= tolerance_rest; }
  // Exact on enough rows to prove the assembly: on too few, some wrong assembly may fit them too.
  bool proves() const { return exact() && rows >= rows_needed; }
};

// What `fit.tolerance` is: "rounding level", or "float16 storage level" / "bfloat16 storage
// level" for pieces stored at half precision (Fit::stored_bits).
const char* tolerance_name(const Fit& fit);
// The format the pieces were stored in: "float32", "float16" or "bfloat16".
const char* stored_format(const Fit& fit);

// The MSE that float32 rounding alone can explain: 1e-10 times the mean square of `pred`.
// A wrong assembly is many orders of magnitude above it.
double rounding_tolerance(const Dataset& data);

// var(pred) over the data's rows (-1 without rows): the scale an MSE is judged against (a wrong
// assembly's is of its order).
double pred_variance(const Dataset& data);

// The rows an exact fit needs before it proves an assembly of `blocks` blocks rather than a
// coincidence (SIZE_MAX when pred does not vary: then no number of rows tells assemblies apart).
// Why: on one row of a 32-block puzzle the search found a wrong assembly at float rounding in
// 1 s. The count: a wrong assembly's output on a row is taken to scatter around pred by at least
// a hundredth of pred's spread (the smallest single move measured on the hard suite, an adjacent
// swap deep in a 64-block net, moves it by a fiftieth), so it falls within rounding of pred on a
// row with odds 2^-b, b = log2(that scatter / the rounding error); an exact fit proves the
// assembly when the (blocks!)^2 pairings and orders, times these odds over all rows, stay below
// 2^-64. About 30 rows for 32 blocks, 48 for 48 and 66 for 64 when pred is centred.
std::size_t rows_to_prove(std::size_t blocks, const Dataset& data);
// The same for a fit whose MSE tolerance is `tolerance` (wider than rounding's for pieces stored
// at half precision).
std::size_t rows_to_prove(std::size_t blocks, const Dataset& data, double tolerance);

}  // namespace humpty
