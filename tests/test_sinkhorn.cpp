#include <cmath>

#include "catch.hpp"
#include "rng.hpp"
#include "sinkhorn.hpp"

TEST_CASE("Sinkhorn gives a doubly stochastic matrix that sharpens to the best permutation", "[sinkhorn]") {
  humpty::Rng rng(7);
  const std::size_t n = 6;
  std::vector<double> logits(n * n);
  for (double& z : logits) z = rng.uniform();
  // A clear best permutation: i -> (i + 2) mod n.
  for (std::size_t i = 0; i < n; ++i) logits[i * n + (i + 2) % n] += 1.0;
  humpty::Sinkhorn sinkhorn;
  const std::vector<double>& q = sinkhorn.forward(logits, n, 1.0, 30);
  for (std::size_t i = 0; i < n; ++i) {
    double row = 0, column = 0;
    for (std::size_t k = 0; k < n; ++k) {
      row += q[i * n + k];
      column += q[k * n + i];
    }
    CHECK(std::fabs(row - 1) < 1e-6);
    CHECK(std::fabs(column - 1) < 1e-12);
  }
  const std::vector<double>& sharp = sinkhorn.forward(logits, n, 0.02, 30);
  for (std::size_t i = 0; i < n; ++i) CHECK(sharp[i * n + (i + 2) % n] > 0.99);
}

TEST_CASE("Sinkhorn's backward pass matches central differences", "[sinkhorn]") {
  humpty::Rng rng(11);
  const std::size_t n = 5;
  std::vector<double> logits(n * n), weights(n * n);
  for (double& z : logits) z = 2 * rng.uniform() - 1;
  for (double& w : weights) w = 2 * rng.uniform() - 1;
  // L = sum w . Q, so dL/dQ = w.
  auto loss = [&](const std::vector<double>& z) {
    humpty::Sinkhorn s;
    const std::vector<double>& q = s.forward(z, n, 0.5, 8);
    double sum = 0;
    for (std::size_t k = 0; k < n * n; ++k) sum += weights[k] * q[k];
    return sum;
  };
  humpty::Sinkhorn sinkhorn;
  sinkhorn.forward(logits, n, 0.5, 8);
  const std::vector<double> grad = sinkhorn.backward(weights);
  for (std::size_t k = 0; k < n * n; ++k) {
    std::vector<double> up = logits, down = logits;
    up[k] += 1e-5;
    down[k] -= 1e-5;
    const double numeric = (loss(up) - loss(down)) / 2e-5;
    CHECK(std::fabs(numeric - grad[k]) < 1e-7 + 1e-5 * std::fabs(numeric));
  }
}
