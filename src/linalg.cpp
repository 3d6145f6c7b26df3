// Dense linear algebra shared by the phases (linalg.hpp).
#include "linalg.hpp"

#include <cmath>

namespace humpty {

bool cholesky_solve(std::vector<double>& g, std::size_t m, double ridge, std::vector<double>& x) {
  for (std::size_t j = 0; j < m; ++j) {
    double d = g[j * m + j] + ridge;
    for (std::size_t k = 0; k < j; ++k) d -= g[j * m + k] * g[j * m + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    g[j * m + j] = d;
    for (std::size_t i = j + 1; i < m; ++i) {
      double s = g[i * m + j];
      for (std::size_t k = 0; k < j; ++k) s -= g[i * m + k] * g[j * m + k];
      g[i * m + j] = s / d;
    }
  }
  for (std::size_t i = 0; i < m; ++i) {
    double s = x[i];
    for (std::size_t k = 0; k < i; ++k) s -= g[i * m + k] * x[k];
    x[i] = s / g[i * m + i];
  }
  for (std::size_t i = m; i-- > 0;) {
    double s = x[i];
    for (std::size_t k = i + 1; k < m; ++k) s -= g[k * m + i] * x[k];
    x[i] = s / g[i * m + i];
  }
  return true;
}

double dot_sum(const double* x, const double* y, std::size_t n) {
  // Named sums, not an array: GCC kept an array's sums in memory (search_relax.cpp's dot).
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  std::size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    s0 += x[q] * y[q];
    s1 += x[q + 1] * y[q + 1];
    s2 += x[q + 2] * y[q + 2];
    s3 += x[q + 3] * y[q + 3];
    s4 += x[q + 4] * y[q + 4];
    s5 += x[q + 5] * y[q + 5];
    s6 += x[q + 6] * y[q + 6];
    s7 += x[q + 7] * y[q + 7];
  }
  for (; q < n; ++q) s0 += x[q] * y[q];
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

}  // namespace humpty
