#include <algorithm>
#include <limits>
#include <numeric>

#include "catch.hpp"
#include "hungarian.hpp"
#include "rng.hpp"

namespace {

double total(const std::vector<double>& cost, std::size_t n, const std::vector<std::size_t>& column) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += cost[i * n + column[i]];
  return sum;
}

double brute_force(const std::vector<double>& cost, std::size_t n) {
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t(0));
  double best = std::numeric_limits<double>::infinity();
  do {
    best = std::min(best, total(cost, n, perm));
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

}  // namespace

TEST_CASE("Hungarian assignment equals brute force on random small matrices", "[hungarian]") {
  humpty::Rng rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    std::size_t n = 1 + std::size_t(rng.below(7));
    std::vector<double> cost(n * n);
    for (double& c : cost) {
      // Small integers make ties common, which is where assignment codes go wrong.
      c = trial % 2 ? double(rng.below(5)) : rng.uniform() * 10 - 5;
    }
    std::vector<std::size_t> column = humpty::hungarian_min_cost(cost, n);
    std::vector<std::size_t> sorted = column;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < n; ++i) REQUIRE(sorted[i] == i);  // a permutation
    REQUIRE(total(cost, n, column) == Approx(brute_force(cost, n)).margin(1e-9));
  }
}

TEST_CASE("Hungarian assignment avoids infinite and NaN costs when it can", "[hungarian]") {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> cost = {inf, 1, 2, std::nan(""), 5, inf, 3, inf, 0};
  auto column = humpty::hungarian_min_cost(cost, 3);
  CHECK(column == std::vector<std::size_t>{2, 1, 0});
  CHECK(humpty::hungarian_min_cost({}, 0).empty());
}
