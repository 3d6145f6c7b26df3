#include <atomic>
#include <vector>

#include "catch.hpp"
#include "parallel.hpp"

TEST_CASE("the pool runs every task exactly once, round after round", "[parallel]") {
  for (int threads : {1, 2, 4}) {
    humpty::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (std::size_t count : {std::size_t(0), std::size_t(1), std::size_t(3), std::size_t(1000)}) {
      for (int round = 0; round < 20; ++round) {
        std::vector<std::atomic<int>> hits(count);
        std::atomic<int> bad_worker{0};
        pool.run(count, [&](std::size_t i, int worker) {
          hits[i].fetch_add(1);
          if (worker < 0 || worker >= pool.size()) bad_worker.store(1);
        });
        for (auto& h : hits) REQUIRE(h.load() == 1);
        REQUIRE(bad_worker.load() == 0);
      }
    }
  }
}
