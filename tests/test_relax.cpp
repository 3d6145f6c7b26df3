// The relaxation phase (src/search_relax.cpp): the soft network's gradient, determinism, and
// that the rounded soft order is much closer to the answer than a shuffled one.
#include <algorithm>
#include <cmath>

#include "catch.hpp"
#include "network.hpp"
#include "rng.hpp"
#include "search_engine.hpp"
#include "support.hpp"

namespace {

double order_mse(const humpty::GeneratedPuzzle& g, const std::vector<humpty::Block>& blocks) {
  auto fit = humpty::evaluate(g.puzzle, {blocks, g.puzzle.last_piece}, g.data, 1);
  REQUIRE(fit.ok());
  return fit->mse_pred;
}

std::vector<std::size_t> first_rows(std::size_t count) {
  std::vector<std::size_t> rows(count);
  for (std::size_t k = 0; k < count; ++k) rows[k] = k * 7;
  return rows;
}

}  // namespace

TEST_CASE("the soft order's gradient matches finite differences", "[relax]") {
  const humpty::GeneratedPuzzle& g = test::generated(12, 16, 32, 2000, 40, 3);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(g.puzzle);
  humpty::ThreadPool pool(2);
  const std::vector<humpty::Block>& blocks = g.answer.blocks;
  const std::vector<std::size_t> batch = first_rows(40);
  humpty::Rng rng(7);
  std::vector<double> depth(blocks.size());
  for (std::size_t b = 0; b < blocks.size(); ++b) depth[b] = double(b) + 3 * (rng.uniform() - 0.5);
  const std::vector<double> sigma(blocks.size(), 1.7);
  std::vector<double> grad, unused;
  std::uint64_t block_rows = 0;
  const double loss = humpty::soft_order_loss(net, g.data, batch, blocks, depth, sigma, pool, grad, block_rows);
  CHECK(loss > 0);
  CHECK(block_rows > 0);
  REQUIRE(grad.size() == blocks.size());
  double largest = 0;
  for (double v : grad) largest = std::max(largest, std::fabs(v));
  REQUIRE(largest > 0);
  // Central differences in float32 arithmetic: a step of 1e-3 slots keeps the rounding error of
  // the loss (~1e-7 relative) well below the gradients checked.
  const double h = 1e-3;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    std::vector<double> up = depth, down = depth;
    up[b] += h;
    down[b] -= h;
    const double numeric = (humpty::soft_order_loss(net, g.data, batch, blocks, up, sigma, pool, unused, block_rows) -
                            humpty::soft_order_loss(net, g.data, batch, blocks, down, sigma, pool, unused, block_rows)) /
                           (2 * h);
    INFO("block " << b << ": analytic " << grad[b] << ", numeric " << numeric);
    CHECK(std::fabs(numeric - grad[b]) <= 0.03 * std::fabs(grad[b]) + 0.01 * largest);
  }
}

TEST_CASE("the soft order's loss is the network's MSE when every block sits on its own slot", "[relax]") {
  // A narrow Gaussian on an integer depth keeps only its own slot (the others fall below the cut),
  // so the soft network is the ordinary one in that order.
  const humpty::GeneratedPuzzle& g = test::generated(12, 16, 32, 2000, 40, 3);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(g.puzzle);
  humpty::ThreadPool pool(1);
  std::vector<humpty::Block> blocks = g.answer.blocks;
  std::reverse(blocks.begin(), blocks.end());
  std::vector<double> depth(blocks.size());
  for (std::size_t b = 0; b < blocks.size(); ++b) depth[b] = double(blocks.size() - 1 - b);  // the right order
  std::vector<double> grad;
  std::uint64_t block_rows = 0;
  const std::vector<std::size_t> batch = first_rows(64);
  const std::vector<double> narrow(blocks.size(), 0.2);
  const double loss = humpty::soft_order_loss(net, g.data, batch, blocks, depth, narrow, pool, grad, block_rows);
  CHECK(loss < 1e-10);
  depth.assign(blocks.size(), 0);
  for (std::size_t b = 0; b < blocks.size(); ++b) depth[b] = double(b);  // reversed
  CHECK(humpty::soft_order_loss(net, g.data, batch, blocks, depth, narrow, pool, grad, block_rows) > 1e-3);
}

TEST_CASE("relaxation keeps the pairs, is the same for 1 and 2 threads, and orders far better than a shuffle",
          "[relax]") {
  // The demo's kind of network (weak weight fingerprints), its right pairs in a shuffled order.
  const humpty::GeneratedPuzzle& g = test::generated(24, 24, 48, 4000, 40, 3);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(g.puzzle);
  std::vector<humpty::Block> shuffled = g.answer.blocks;
  humpty::Rng shuffle(11);
  for (std::size_t k = shuffled.size(); k > 1; --k) std::swap(shuffled[k - 1], shuffled[shuffle.below(k)]);
  std::vector<std::size_t> rows(1024);
  for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = k;
  humpty::RelaxSchedule schedule;
  schedule.sigma_start.assign(shuffled.size(), 3);
  std::vector<std::vector<humpty::Block>> results;
  for (int threads : {1, 2}) {
    humpty::ThreadPool pool(threads);
    humpty::Rng rng(5);
    humpty::RelaxStats stats;
    const std::vector<double> middle(shuffled.size(), double(shuffled.size() - 1) / 2);
    results.push_back(humpty::relax_order(net, g.data, rows, shuffled, middle, schedule, rng, pool, stats));
    CHECK(stats.steps == schedule.steps);
  }
  CHECK(results[0] == results[1]);
  std::vector<humpty::Block> kept = results[0], given = shuffled;
  auto by_pieces = [](const humpty::Block& a, const humpty::Block& b) {
    return a.inp != b.inp ? a.inp < b.inp : a.out < b.out;
  };
  std::sort(kept.begin(), kept.end(), by_pieces);
  std::sort(given.begin(), given.end(), by_pieces);
  CHECK(kept == given);
  const double before = order_mse(g, shuffled), after = order_mse(g, results[0]);
  INFO("MSE shuffled " << before << ", relaxed " << after);
  CHECK(after < before / 4);
}
