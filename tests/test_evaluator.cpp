// The search's incremental evaluator: cached streams and the backward pass.
#include "catch.hpp"
#include <limits>

#include "evaluator.hpp"
#include "moves.hpp"
#include "rng.hpp"
#include "support.hpp"

TEST_CASE("sensitivities: kept activations give the same bits, and they predict output changes",
          "[evaluator]") {
  test::SubPuzzle sub = test::sub_puzzle({0, 3, 6, 9, 12, 15, 18, 21, 23}, 300, 7);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(sub.puzzle);
  humpty::ThreadPool pool(2);
  const std::vector<std::size_t> rows = humpty::spread_rows(sub.data.rows, 144);
  humpty::Evaluator plain(net, sub.data, rows, pool), kept(net, sub.data, rows, pool);
  kept.keep_hidden();
  std::vector<humpty::Block> blocks = sub.answer.blocks;
  std::swap(blocks[1], blocks[6]);  // not the answer: errors everywhere
  plain.set(blocks);
  kept.set(sub.answer.blocks);
  kept.set(blocks, 1);  // activations kept from position 1 on, the ones before reused
  plain.compute_sensitivities(plain.chunks());
  kept.compute_sensitivities(kept.chunks());
  const std::size_t n = blocks.size(), dp = net.dim_padded;
  for (std::size_t p = 0; p <= n; ++p) {
    for (std::size_t c = 0; c < plain.chunks(); ++c) {
      const float* a = plain.sensitivity_at(p, c);
      const float* b = kept.sensitivity_at(p, c);
      for (std::size_t k = 0; k < plain.chunk_rows(c) * dp; ++k) REQUIRE(a[k] == b[k]);
    }
  }
  // U_p . delta predicts the change of the output when delta is added to the stream before p:
  // check it for a small change of one stream value of row 0 before the middle position.
  const std::size_t p = n / 2, q = 3;
  const float* u = plain.sensitivity_at(p, 0);
  std::vector<float> stream(plain.stream(p, 0), plain.stream(p, 0) + dp);
  std::vector<float> hidden(net.hidden_padded);
  auto output_from = [&](std::vector<float> x) {
    for (std::size_t b = p; b < n; ++b) {
      humpty::run_block(net.piece(blocks[b].inp), net.piece(blocks[b].out), x.data(), 1, hidden.data());
    }
    return double(humpty::output_of(net, x.data()));
  };
  const double h = 1e-2;
  std::vector<float> up = stream, down = stream;
  up[q] += float(h);
  down[q] -= float(h);
  const double slope = (output_from(up) - output_from(down)) / (double(up[q]) - double(down[q]));
  CHECK(slope == Approx(double(u[q])).margin(1e-3).epsilon(1e-2));
}

TEST_CASE("evaluator: score, try_candidate + adopt and a fresh set() give the same bits", "[evaluator]") {
  test::SubPuzzle sub = test::sub_puzzle({0, 2, 4, 6, 8, 10, 12, 14}, 400, 3);
  const humpty::PackedPuzzle net = humpty::pack_puzzle(sub.puzzle);
  humpty::ThreadPool pool(2);
  const std::vector<std::size_t> rows = humpty::spread_rows(sub.data.rows, 200);
  humpty::Evaluator incremental(net, sub.data, rows, pool);
  humpty::Evaluator::Scratch scratch;
  std::vector<humpty::Block> blocks = sub.answer.blocks;
  incremental.set(blocks);
  humpty::Rng rng(11);
  const std::size_t n = blocks.size();
  for (int step = 0; step < 60; ++step) {
    humpty::Move move;
    move.kind = humpty::MoveKind(rng.below(7));
    move.a = std::size_t(rng.below(n));
    do move.b = std::size_t(rng.below(n));
    while (move.b == move.a);
    do move.c = std::size_t(rng.below(n));
    while (move.c == move.a || move.c == move.b);
    if (move.kind == humpty::MoveKind::reverse && move.a > move.b) std::swap(move.a, move.b);
    std::vector<humpty::Block> candidate = blocks;
    humpty::apply_move(candidate, move);
    const std::size_t from = humpty::first_changed(move);
    const double scored = incremental.score(candidate, from, 0, incremental.chunks(), scratch,
                                            std::numeric_limits<double>::infinity());
    const double tried = incremental.try_candidate(candidate, from);
    incremental.adopt();
    humpty::Evaluator fresh(net, sub.data, rows, pool);
    fresh.set(candidate);
    INFO("step " << step << ", move kind " << int(move.kind));
    REQUIRE(scored == tried);
    REQUIRE(tried == incremental.sse());
    REQUIRE(incremental.sse() == fresh.sse());
    REQUIRE(incremental.outputs() == fresh.outputs());
    blocks = candidate;
  }
}
