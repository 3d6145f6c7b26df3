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
  double mse_true = -1;  // against `true`; -1 when the data has none
  double max_error = 0;  // largest |output - pred|
  double tolerance = 0;  // the MSE below which the output equals `pred` up to float rounding
  bool exact() const { return mse_pred <= tolerance; }
};

// The MSE that float32 rounding alone can explain: 1e-10 times the mean square of `pred`.
// A wrong assembly is many orders of magnitude above it.
double rounding_tolerance(const Dataset& data);

}  // namespace humpty
