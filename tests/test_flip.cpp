// The flip phase (src/search_flip.cpp): ordering by inverted pairs, and the regression's chain
// from an order near the answer to the answer, the same for 1 and 2 threads.
#include <algorithm>

#include "catch.hpp"
#include "network.hpp"
#include "search_engine.hpp"
#include "support.hpp"

namespace {

std::vector<humpty::Block> lettered(std::size_t n) {
  std::vector<humpty::Block> blocks(n);
  for (std::size_t k = 0; k < n; ++k) blocks[k] = {int(2 * k), int(2 * k + 1)};
  return blocks;
}

// How many pairs of blocks run in the other relative order than in `truth`.
std::size_t inversions(const std::vector<humpty::Block>& order, const std::vector<humpty::Block>& truth) {
  std::vector<std::size_t> depth(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    depth[k] = std::size_t(std::find(truth.begin(), truth.end(), order[k]) - truth.begin());
  }
  std::size_t count = 0;
  for (std::size_t p = 0; p < order.size(); ++p) {
    for (std::size_t q = p + 1; q < order.size(); ++q) count += depth[p] > depth[q];
  }
  return count;
}

}  // namespace

TEST_CASE("blocks are ranked by how many others they run before once pairs are inverted", "[flip]") {
  const std::vector<humpty::Block> b = lettered(4);  // A B C D
  CHECK(humpty::order_with_flips(b, {}) == b);
  CHECK(humpty::order_with_flips(b, {{0, 1}}) == std::vector<humpty::Block>{b[1], b[0], b[2], b[3]});
  // C inverted with A and B: C runs before three, A before two, B before one.
  CHECK(humpty::order_with_flips(b, {{0, 2}, {1, 2}}) == std::vector<humpty::Block>{b[2], b[0], b[1], b[3]});
  // D inverted with all: the order reversed at its end.
  CHECK(humpty::order_with_flips(b, {{0, 3}, {1, 3}, {2, 3}}) == std::vector<humpty::Block>{b[3], b[0], b[1], b[2]});
}

TEST_CASE(
    "flip chains run below flip_below, far ones (flip_far_above to flip_near, or after flip_far_stale "
    "stale rounds) only flip_far_chains times",
    "[flip]") {
  humpty::SearchTuning tuning;
  tuning.flip_below = 0.3;
  tuning.flip_near = 1e-3;
  tuning.flip_far_above = 0.1;
  tuning.flip_far_chains = 1;
  using humpty::FlipGate;
  CHECK(humpty::flip_gate(0.5, 0, 0, tuning) == FlipGate::closed);
  CHECK(humpty::flip_gate(0.3, 0, 0, tuning) == FlipGate::far);  // at the gate: open
  CHECK(humpty::flip_gate(0.1, 0, 0, tuning) == FlipGate::far);
  CHECK(humpty::flip_gate(0.1, 1, 0, tuning) == FlipGate::closed);   // the one far chain ran
  CHECK(humpty::flip_gate(0.06, 0, 0, tuning) == FlipGate::closed);  // the descent still moves there
  CHECK(humpty::flip_gate(2e-3, 0, 0, tuning) == FlipGate::closed);
  // Below flip_far_above once the search has gone flip_far_stale rounds without a new best.
  tuning.flip_far_stale = 2;
  CHECK(humpty::flip_gate(0.06, 0, 1, tuning) == FlipGate::closed);
  CHECK(humpty::flip_gate(0.06, 0, 2, tuning) == FlipGate::far);
  CHECK(humpty::flip_gate(2e-3, 0, 5, tuning) == FlipGate::far);
  CHECK(humpty::flip_gate(0.06, 1, 5, tuning) == FlipGate::closed);  // the one far chain ran
  CHECK(humpty::flip_gate(0.5, 0, 5, tuning) == FlipGate::closed);   // above flip_below: never
  tuning.flip_far_stale = 1000000;
  tuning.flip_far_above = 0;  // the gate as it was: every far level
  CHECK(humpty::flip_gate(0.06, 0, 0, tuning) == FlipGate::far);
  CHECK(humpty::flip_gate(2e-3, 0, 0, tuning) == FlipGate::far);
  CHECK(humpty::flip_gate(1e-3, 1, 0, tuning) == FlipGate::near);  // near chains: once per best, always
  CHECK(humpty::flip_gate(1e-9, 7, 0, tuning) == FlipGate::near);
  tuning.flip_far_chains = 0;
  CHECK(humpty::flip_gate(0.1, 0, 0, tuning) == FlipGate::closed);
  CHECK(humpty::flip_gate(1e-4, 0, 0, tuning) == FlipGate::near);
  tuning.flip = false;
  CHECK(humpty::flip_gate(1e-4, 0, 0, tuning) == FlipGate::closed);
}

TEST_CASE("the flip chain takes an order with far-apart blocks misplaced to the answer, the same for 1 and 2 threads",
          "[flip]") {
  // The demo's kind of network (weak weight fingerprints), its answer with three blocks moved
  // 6 to 9 places and two neighbours swapped: 19 inverted pairs, MSE 0.08.
  const humpty::GeneratedPuzzle& g = test::generated(24, 24, 48, 4000, 40, 3);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(g.puzzle);
  const std::vector<humpty::Block>& truth = g.answer.blocks;
  std::vector<humpty::Block> start = truth;
  auto move = [&](std::size_t from, std::size_t to) {
    const humpty::Block b = start[from];
    start.erase(start.begin() + std::ptrdiff_t(from));
    start.insert(start.begin() + std::ptrdiff_t(to), b);
  };
  move(20, 11);
  move(3, 9);
  move(15, 10);
  std::swap(start[0], start[1]);
  const std::size_t inverted = inversions(start, truth);
  REQUIRE(inverted >= 15);
  humpty::SearchTuning tuning;
  tuning.flip_rows = 1024;  // all 276 pairs still fit; half the default's work under the sanitizers
  std::vector<humpty::FlipChain> chains;
  for (int threads : {1, 2}) {
    humpty::ThreadPool pool(threads);
    humpty::Evaluator eval(net, g.data, humpty::spread_rows(g.data.rows, tuning.flip_rows), pool);
    eval.set(start);
    const double start_mse = eval.mse();
    chains.push_back(humpty::flip_chain(net, eval, pool, start, tuning, 1e-9 * start_mse, {}));
    INFO("start mse " << start_mse << ", inversions " << inverted << "; chain best mse " << chains.back().best_mse
                      << " after " << chains.back().rounds << " rounds, " << chains.back().picked << " picked");
    CHECK(chains.back().best == truth);
    CHECK(chains.back().rounds >= 1);
  }
  CHECK(chains[0].best == chains[1].best);
  CHECK(chains[0].best_mse == chains[1].best_mse);
  CHECK(chains[0].rounds == chains[1].rounds);
  CHECK(chains[0].picked == chains[1].picked);
}
