// Sinkhorn normalisation (see sinkhorn.hpp). Every sum runs in index order: the same bits on
// every machine and for any number of threads (it runs on one).
#include "sinkhorn.hpp"

#include <algorithm>
#include <cmath>

#include "assert.hpp"

namespace humpty {

namespace {

// x -= log sum exp over each row (by_rows) or each column, in place.
void normalise(std::vector<double>& x, std::size_t n, bool by_rows) {
  for (std::size_t i = 0; i < n; ++i) {
    auto at = [&](std::size_t k) -> double& { return by_rows ? x[i * n + k] : x[k * n + i]; };
    double top = -INFINITY;
    for (std::size_t k = 0; k < n; ++k) top = std::max(top, at(k));
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += std::exp(at(k) - top);
    // sum >= 1: the loop runs (n > i) and the top entry adds exp(0) (unless every entry is -inf,
    // which the logits never are). cppcheck assumes the loop may not run.
    HUMPTY_ASSERT(sum >= 1);
    // cppcheck-suppress invalidFunctionArg
    const double lse = top + std::log(sum);
    for (std::size_t k = 0; k < n; ++k) at(k) -= lse;
  }
}

// The adjoint of y = x - lse(x) along rows or columns: dx = dy - exp(y) * sum(dy), where exp(y)
// is the softmax of x.
void normalise_backward(const std::vector<double>& y, std::vector<double>& grad, std::size_t n, bool by_rows) {
  for (std::size_t i = 0; i < n; ++i) {
    auto index = [&](std::size_t k) { return by_rows ? i * n + k : k * n + i; };
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += grad[index(k)];
    for (std::size_t k = 0; k < n; ++k) grad[index(k)] -= std::exp(y[index(k)]) * sum;
  }
}

}  // namespace

const std::vector<double>& Sinkhorn::forward(const std::vector<double>& logits, std::size_t n, double temperature,
                                             int iterations) {
  HUMPTY_ASSERT(logits.size() == n * n && temperature > 0 && iterations > 0);
  n_ = n;
  temperature_ = temperature;
  std::vector<double> x(n * n);
  for (std::size_t k = 0; k < n * n; ++k) x[k] = logits[k] / temperature;
  steps_.clear();
  for (int it = 0; it < iterations; ++it) {
    normalise(x, n, true);
    steps_.push_back(x);
    normalise(x, n, false);
    steps_.push_back(x);
  }
  q_.resize(n * n);
  for (std::size_t k = 0; k < n * n; ++k) q_[k] = std::exp(x[k]);
  return q_;
}

std::vector<double> Sinkhorn::backward(const std::vector<double>& grad_q) const {
  HUMPTY_ASSERT(grad_q.size() == n_ * n_ && !steps_.empty());
  std::vector<double> grad(n_ * n_);
  for (std::size_t k = 0; k < n_ * n_; ++k) grad[k] = grad_q[k] * q_[k];  // through exp
  for (std::size_t s = steps_.size(); s-- > 0;) normalise_backward(steps_[s], grad, n_, s % 2 == 0);
  for (double& g : grad) g /= temperature_;
  return grad;
}

}  // namespace humpty
