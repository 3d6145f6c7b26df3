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

}  // namespace humpty
