// linalg.hpp - the little dense linear algebra the phases share that is not a kernel.
#pragma once

#include <cstddef>
#include <vector>

namespace humpty {

// Solves (G + ridge I) x = h in place (x holds h on entry) for a symmetric m x m G, row-major,
// by Cholesky, reading and overwriting only G's lower triangle (its diagonal included). False
// when G + ridge I is not positive definite.
bool cholesky_solve(std::vector<double>& g, std::size_t m, double ridge, std::vector<double>& x);

}  // namespace humpty
