#include <cstdint>
#include <new>
#include <vector>

#include "buffer.hpp"
#include "catch.hpp"

namespace {

using Floats = std::vector<float, humpty::UnsetAllocator<float>>;
constexpr std::size_t kBig = humpty::UnsetAllocator<float>::kHugeBytes / sizeof(float);

void fill(Floats& v, std::size_t from) {
  for (std::size_t k = from; k < v.size(); ++k) v[k] = float(k % 1021) - 510.5f;
}

bool holds_pattern(const Floats& v) {
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (v[k] != float(k % 1021) - 510.5f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("an unset buffer keeps its values across growth from small to huge-page sizes and back", "[buffer]") {
  Floats v(1000);
  fill(v, 0);
  // Growing past the threshold moves the values into an allocation of the other kind.
  v.resize(kBig + 12345);
  fill(v, 1000);
  CHECK(holds_pattern(v));
  // A megabyte buffer starts on a huge-page boundary (the advice covers whole pages).
  CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % humpty::UnsetAllocator<float>::kHugeAlign == 0);
  Floats copy = v;
  CHECK(holds_pattern(copy));
  CHECK(copy.data() != v.data());
  // Shrinking back below the threshold frees the big allocation through the same path it came
  // from (a mismatch shows under the sanitizers, which `make sanitize` runs).
  v.resize(100);
  v.shrink_to_fit();
  CHECK(v.size() == 100);
  CHECK(holds_pattern(v));
}

TEST_CASE("an unset buffer refuses a size whose byte count overflows", "[buffer]") {
  humpty::UnsetAllocator<double> allocator;
  CHECK_THROWS_AS(allocator.allocate(std::size_t(-1) / 4), std::bad_alloc);
}
