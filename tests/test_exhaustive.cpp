#include <algorithm>
#include <cmath>

#include "catch.hpp"
#include "exhaustive.hpp"
#include "support.hpp"

using test::options_for;

TEST_CASE("exhaustive: how many assemblies there are", "[exhaustive]") {
  const humpty::GeneratedPuzzle& net = test::generated(3, 4, 8, 200, 2, 5);
  CHECK(humpty::assembly_count(net.puzzle, 0, false) == 36);  // 3! orders x 3! pairings
  CHECK(humpty::assembly_count(net.puzzle, 1, false) == 12);  // one pair given: 3! x 2!
  CHECK(humpty::assembly_count(net.puzzle, 3, false) == 6);   // every pair given: the orders
  // Roles free: 6 pieces into 3 ordered (inp, out) blocks, 6! = 720; one block given, 3! x 4!/2!.
  CHECK(humpty::assembly_count(net.puzzle, 0, true) == 720);
  CHECK(humpty::assembly_count(net.puzzle, 1, true) == 72);
}

TEST_CASE("exhaustive: every assembly of a small net, the same for any threads; the budget holds it back",
          "[exhaustive]") {
  const humpty::GeneratedPuzzle& net = test::generated(4, 5, 9, 300, 3, 11);
  const std::string answer = humpty::format_answer(net.answer);
  humpty::SearchTuning tuning;
  humpty::Exhaustive by_threads[2];
  for (int threads : {1, 2}) {
    humpty::ThreadPool pool(threads);
    by_threads[threads - 1] = humpty::try_every_assembly(net.puzzle, net.data, {}, false, tuning, pool);
  }
  for (const humpty::Exhaustive& every : by_threads) {
    CHECK(every.ran);
    CHECK(every.assemblies == 576);
    CHECK(every.screen_rows == 64);
    CHECK(every.judged == tuning.exhaustive_keep);
    CHECK(every.fit.proves());
    CHECK(humpty::format_answer(every.best) == answer);
  }
  CHECK(by_threads[0].fit.mse_pred == by_threads[1].fit.mse_pred);
  CHECK(by_threads[0].block_rows == by_threads[1].block_rows);

  // A given block is in every assembly tried: a wrong one leaves nothing exact.
  humpty::ThreadPool pool(2);
  humpty::Block wrong = net.answer.blocks[0];
  wrong.out = net.answer.blocks[1].out;
  const humpty::Exhaustive misled =
      humpty::try_every_assembly(net.puzzle, net.data, {wrong}, false, tuning, pool);
  CHECK(misled.ran);
  CHECK(misled.assemblies == 24 * 6);
  CHECK(std::count(misled.best.blocks.begin(), misled.best.blocks.end(), wrong) == 1);
  CHECK(!misled.fit.exact());
  const humpty::Exhaustive helped =
      humpty::try_every_assembly(net.puzzle, net.data, {net.answer.blocks[2]}, false, tuning, pool);
  CHECK(helped.fit.proves());
  CHECK(humpty::format_answer(helped.best) == answer);

  // Over the budget: not tried at all.
  tuning.exhaustive_work = 1e6;
  const humpty::Exhaustive held = humpty::try_every_assembly(net.puzzle, net.data, {}, false, tuning, pool);
  CHECK(!held.ran);
  CHECK(held.assemblies == 576);
  CHECK(held.block_rows == 0);
}

TEST_CASE("exhaustive: data no assembly reproduces get the lowest error judged, not an exact one",
          "[exhaustive]") {
  const humpty::GeneratedPuzzle& net = test::generated(3, 4, 8, 200, 2, 5);
  humpty::Dataset shifted = net.data;
  for (double& p : shifted.pred) p += 0.05;
  humpty::ThreadPool pool(2);
  const humpty::Exhaustive every = humpty::try_every_assembly(net.puzzle, shifted, {}, false, {}, pool);
  CHECK(every.ran);
  CHECK(every.judged == 16);
  CHECK(!every.fit.exact());
  // The right assembly is off by the shift alone, the least of all.
  CHECK(humpty::format_answer(every.best) == humpty::format_answer(net.answer));
  CHECK(every.fit.mse_pred == Approx(0.0025).epsilon(1e-3));
  // Without rows every assembly fits alike: one of them is still an assembly of the puzzle.
  humpty::Dataset none = net.data;
  none.rows = 0;
  none.x.clear();
  none.pred.clear();
  none.truth.clear();
  const humpty::Exhaustive any = humpty::try_every_assembly(net.puzzle, none, {}, false, {}, pool);
  CHECK(any.ran);
  CHECK(humpty::check_assembly(net.puzzle, any.best));
  CHECK(!any.fit.exact());
}

TEST_CASE("exhaustive: small square nets are proven, roles and all", "[exhaustive][solve]") {
  // Before every assembly was tried, the roles' flips and the search proved 7 of 24 such nets of 3
  // blocks and 1 of 24 of 4 (seeds 1-8, 0-40 epochs).
  for (std::size_t blocks : {3, 4}) {
    for (std::uint64_t seed : {1, 2, 3}) {
      const humpty::GeneratedPuzzle& net = test::generated(blocks, 4, 4, 300, 3, seed);
      REQUIRE(net.puzzle.square);
      std::string answers[2];
      for (int threads : {1, 2}) {
        humpty::SolveOptions options;
        options.search.threads = threads;
        auto report = humpty::solve(net.puzzle, &net.data, options);
        REQUIRE(report.ok());
        CHECK(report->fit.proves());
        answers[threads - 1] = report->answer;
      }
      CHECK(answers[0] == humpty::format_answer(net.answer));
      CHECK(answers[1] == answers[0]);
    }
  }
}

TEST_CASE("exhaustive: where the engine ends stuck on a small net, every assembly is tried",
          "[exhaustive][search]") {
  // An engine held to the descent's shortest moves, no relaxation, annealing, kicks or flips: on
  // these 5-block nets it ends stuck on seeds 1, 2, 5 and 6 (measured), and trying all 14,400
  // assemblies finds the answer.
  std::size_t proven_by_all = 0;
  for (std::uint64_t seed : {1, 2, 5, 6}) {
    const humpty::GeneratedPuzzle& net = test::generated(5, 4, 8, 300, 3, seed);
    humpty::SolveOptions options;
    options.order = humpty::OrderMethod::search;
    humpty::SearchTuning& tuning = options.search.tuning;
    tuning.relax = tuning.kick = tuning.flip = false;
    tuning.stuck_rounds = 1;
    tuning.anneal_proposals = 0;
    tuning.local_window = 1;
    tuning.repair_rivals = 0;
    tuning.data_pairs_limit = 0;  // the data's own pairs are another way in, not this test's
    auto report = humpty::solve(net.puzzle, &net.data, options);
    REQUIRE(report.ok());
    CHECK(report->fit.proves());
    CHECK(report->answer == humpty::format_answer(net.answer));
    proven_by_all += report->search.every_assembly == 14400;
    // Held to the budget, the engine's end stands.
    options.search.tuning.exhaustive_work = 0;
    auto alone = humpty::solve(net.puzzle, &net.data, options);
    REQUIRE(alone.ok());
    CHECK(alone->search.every_assembly == 0);
  }
  CHECK(proven_by_all >= 3);
}
