// sinkhorn.hpp - a soft permutation matrix and the gradient through it.
//
// Why: a pairing is a permutation, and a permutation cannot be trained by gradient descent. The
// Sinkhorn operator turns any n x n matrix of logits Z into a doubly stochastic Q (every row and
// column summing to 1) by normalising rows and columns in turn, in the log domain; as the
// temperature falls, Q tends to the permutation that maximises sum Z (Mena et al., "Learning
// latent permutations with Gumbel-Sinkhorn networks", 2018). The backward pass differentiates the
// normalisations themselves, so it keeps every iteration's matrix.
#pragma once

#include <cstddef>
#include <vector>

namespace humpty {

class Sinkhorn {
 public:
  // Q = sinkhorn(Z / temperature) after `iterations` row-and-column normalisations; Z is n x n,
  // row-major. Every value of Q is in (0, 1]; its columns sum to 1 and its rows nearly so.
  const std::vector<double>& forward(const std::vector<double>& logits, std::size_t n, double temperature,
                                     int iterations);
  // dL/dZ from dL/dQ, for the last forward.
  std::vector<double> backward(const std::vector<double>& grad_q) const;
  const std::vector<double>& q() const { return q_; }

 private:
  std::size_t n_ = 0;
  double temperature_ = 1;
  std::vector<std::vector<double>> steps_;  // log Q after each normalisation, in order
  std::vector<double> q_;
};

}  // namespace humpty
