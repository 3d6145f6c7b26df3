// hungarian.hpp - minimum-cost perfect assignment on a square matrix, O(n^3).
#pragma once

#include <cstddef>
#include <vector>

namespace humpty {

// cost is n x n, row-major. Returns column[row] of an assignment with the least total cost.
// Non-finite costs are treated as larger than any finite one. Ties are broken deterministically
// (the result depends only on the matrix).
std::vector<std::size_t> hungarian_min_cost(const std::vector<double>& cost, std::size_t n);

}  // namespace humpty
