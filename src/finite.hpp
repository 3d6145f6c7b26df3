// finite.hpp - layer values must be finite: one NaN or Inf in a weight turns every distance,
// score and error it touches into NaN, and the solver's comparisons then mean nothing.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace humpty {

// The index of the first value that is not finite, or values.size().
inline std::size_t first_non_finite(const std::vector<float>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return i;
  }
  return values.size();
}

inline const char* non_finite_name(float value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

// "weight[3, 17] is NaN" / "bias[5] is +Inf", or "" when every value is finite.
inline std::string describe_non_finite(const std::vector<float>& weight, std::size_t cols,
                                       const std::vector<float>& bias) {
  if (std::size_t i = first_non_finite(weight); i < weight.size() && cols > 0) {
    return "weight[" + std::to_string(i / cols) + ", " + std::to_string(i % cols) + "] is " +
           non_finite_name(weight[i]);
  }
  if (std::size_t i = first_non_finite(bias); i < bias.size()) {
    return "bias[" + std::to_string(i) + "] is " + non_finite_name(bias[i]);
  }
  return "";
}

}  // namespace humpty
