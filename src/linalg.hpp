// linalg.hpp - the little dense linear algebra the phases share that is not a kernel.
#pragma once

#include <cstddef>
#include <vector>

namespace humpty {

// Solves (G + ridge I) x = h in place (x holds h on entry) for a symmetric m x m G, row-major,
// by Cholesky, reading and overwriting only G's lower triangle (its diagonal included). False
// when G + ridge I is not positive definite.
bool cholesky_solve(std::vector<double>& g, std::size_t m, double ridge, std::vector<double>& x);

// The sum of x[q] y[q] over n doubles in eight partial sums (element q in sum q mod 8, a tail in
// the first), added in a fixed order: side by side, where one running sum waits on each addition
// (the first-order regression's Gram matrix, 400 features on 4000 rows, took ~0.1 s of a 20-block
// solve that way). The same rounding on every machine and for any thread count.
double dot_sum(const double* x, const double* y, std::size_t n);

}  // namespace humpty
