// The Hungarian algorithm with potentials (Kuhn-Munkres in the shortest augmenting path form):
// rows are added one at a time, each by a Dijkstra-like search over reduced costs
// cost[i][j] - u[i] - v[j], which the potentials keep non-negative.
#include "hungarian.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "assert.hpp"

namespace humpty {

std::vector<std::size_t> hungarian_min_cost(const std::vector<double>& cost, std::size_t n) {
  // A finite stand-in for non-finite costs, larger than any path of finite ones.
  double largest = 0;
  for (double c : cost) {
    if (std::isfinite(c)) largest = std::max(largest, std::fabs(c));
  }
  const double replacement = (largest + 1) * double(n + 1) * 4;
  auto at = [&](std::size_t i, std::size_t j) {
    double c = cost[i * n + j];
    return std::isfinite(c) ? c : replacement;
  };
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based: column 0 is a virtual column holding the row being inserted.
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<std::size_t> row_of(n + 1, 0), way(n + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    row_of[0] = i;
    std::size_t j0 = 0;
    std::vector<double> min_reduced(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      std::size_t i0 = row_of[j0], j1 = 0;
      double delta = inf;
      for (std::size_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        double reduced = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (reduced < min_reduced[j]) {
          min_reduced[j] = reduced;
          way[j] = j0;
        }
        if (min_reduced[j] < delta) {
          delta = min_reduced[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= n; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          min_reduced[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {  // flip the augmenting path
      std::size_t j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::size_t> column(n);
  for (std::size_t j = 1; j <= n; ++j) column[row_of[j] - 1] = j - 1;
#ifdef HUMPTY_ASSERTIONS
  // The certificate of optimality: the result is a permutation, every reduced cost is
  // non-negative (the potentials are a feasible dual) and the chosen ones are zero (complementary
  // slackness), so no other assignment costs less. Tolerances scale with the costs' size, as
  // the potentials are sums of up to n of them.
  const double slack = 1e-9 * (replacement + 1) * double(n + 1);
  std::vector<char> taken(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    HUMPTY_ASSERT(column[i] < n && !taken[column[i]]);
    taken[column[i]] = 1;
    for (std::size_t j = 0; j < n; ++j) HUMPTY_ASSERT(at(i, j) - u[i + 1] - v[j + 1] >= -slack);
    HUMPTY_ASSERT(std::fabs(at(i, column[i]) - u[i + 1] - v[column[i] + 1]) <= slack);
  }
#endif
  return column;
}

}  // namespace humpty
