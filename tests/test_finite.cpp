#include <cmath>
#include <limits>
#include <vector>

#include "catch.hpp"
#include "finite.hpp"

TEST_CASE("first_non_finite finds the first NaN or Inf wherever it lies, and nothing else", "[finite]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float edge[] = {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                        std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(), 0.0f, -0.0f};
  // Sizes around the 64-value blocks the check goes by, and every position in them.
  for (std::size_t n : {0, 1, 2, 63, 64, 65, 127, 128, 129, 200}) {
    std::vector<float> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = edge[i % 6] + float(i % 3);
    REQUIRE(humpty::first_non_finite(values) == n);  // extremes and denormals are finite
    for (std::size_t at = 0; at < n; ++at) {
      for (float bad : {nan, inf, -inf, -nan}) {
        std::vector<float> v = values;
        v[at] = bad;
        if (at + 70 < n) v[at + 70] = nan;  // a later one, in another block, does not count
        if (at + 1 < n) v[at + 1] = inf;    // nor one right after it, in the same block
        CHECK(humpty::first_non_finite(v) == at);
      }
    }
  }
}
