// finite.hpp - layer values must be finite: one NaN or Inf in a weight turns every distance,
// score and error it touches into NaN, and the solver's comparisons then mean nothing.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace humpty {

// The index of the first value that is not finite, or values.size(). Blocks of 64 are tested
// without a branch per value (a float is not finite when its exponent bits are all ones), which
// the compiler turns into vector code: a check value by value, stopping at the first, was ~60% of
// reading a .humpty file's pieces (perf, 2000 reads in one process). The block that holds one is
// searched value by value, so the index is the first all the same.
inline std::size_t first_non_finite(const std::vector<float>& values) {
  const float* v = values.data();
  const std::size_t n = values.size();
  constexpr std::size_t kBlock = 64;
  constexpr std::uint32_t kExponent = 0x7F800000u;
  std::size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    std::uint32_t any = 0;
    for (std::size_t k = 0; k < kBlock; ++k) {
      std::uint32_t bits;
      std::memcpy(&bits, v + i + k, sizeof bits);
      any |= std::uint32_t((bits & kExponent) == kExponent);
    }
    if (any) break;
  }
  for (; i < n; ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return n;
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
