#include "catch.hpp"
#include "network.hpp"
#include "support.hpp"

TEST_CASE("solve: the published puzzle without data", "[solve][published]") {
  humpty::SolveOptions options;
  auto report = humpty::solve(test::published_puzzle(), nullptr, options);
  REQUIRE(report.ok());
  CHECK(report->sha256 == test::kPublishedSha256);
  CHECK(report->sha256 == humpty::sha256_hex(report->answer));
  CHECK(report->used_chain);
  CHECK(!report->searched);
}

TEST_CASE("solve: the published puzzle with data, auto and search", "[solve][published]") {
  for (auto method : {humpty::OrderMethod::automatic, humpty::OrderMethod::search}) {
    humpty::SolveOptions options;
    options.order = method;
    auto report = humpty::solve(test::published_puzzle(), &test::published_data(), options);
    REQUIRE(report.ok());
    CHECK(report->sha256 == test::kPublishedSha256);
    CHECK(report->fit.mse_pred < 1e-10);
    CHECK(report->fit.exact());
    // README: the MSE between pred and true is 0.10648.
    CHECK(report->fit.mse_true == Approx(0.10648).epsilon(1e-4));
    CHECK(report->used_chain == (method == humpty::OrderMethod::automatic));
    CHECK(report->searched == (method == humpty::OrderMethod::search));
  }
}

TEST_CASE("solve: search needs data; data must fit", "[solve]") {
  const humpty::GeneratedPuzzle& g = test::generated(6, 8, 16, 500, 10, 4);
  humpty::SolveOptions options;
  options.order = humpty::OrderMethod::search;
  auto report = humpty::solve(g.puzzle, nullptr, options);
  REQUIRE(!report.ok());
  CHECK(report.message().find("the search order needs data") == 0);
  humpty::Dataset narrow = g.data;
  narrow.features = 7;
  narrow.feature_names.pop_back();
  narrow.x.resize(narrow.rows * 7);
  auto misfit = humpty::solve(g.puzzle, &narrow, {});
  REQUIRE(!misfit.ok());
  CHECK(misfit.message().find("data has 7 feature columns, the network's input width is 8") != std::string::npos);
}

TEST_CASE("solve: a generated puzzle, without data, with data (auto and search), proven", "[solve]") {
  const humpty::GeneratedPuzzle& g = test::generated(16, 16, 32, 2000, 40, 1);
  const std::string target = humpty::sha256_hex(humpty::format_answer(g.answer));
  auto guess = humpty::solve(g.puzzle, nullptr, {});
  REQUIRE(guess.ok());
  CHECK(guess->used_chain);
  CHECK(!guess->searched);
  CHECK(!guess->has_data);  // without data nothing is proven, whatever the guess
  for (auto method : {humpty::OrderMethod::automatic, humpty::OrderMethod::search}) {
    humpty::SolveOptions options;
    options.order = method;
    auto report = humpty::solve(g.puzzle, &g.data, options);
    REQUIRE(report.ok());
    CHECK(report->sha256 == target);
    CHECK(report->fit.exact());
    CHECK(report->fit.mse_true == Approx(g.loss).epsilon(1e-6));
    CHECK(report->searched);
    CHECK(report->search.stopped == humpty::StopReason::exact);
    CHECK(!report->search.trace.empty());
    CHECK(report->search.trace.back().mse <= report->fit.tolerance * 10);
  }
}

TEST_CASE("a test that reads the published files must carry the [published] tag", "[solve][tags]") {
  // Whether or not the files are here: the tag is checked first.
  CHECK_THROWS_WITH(test::published_puzzle(), Catch::Contains("is not tagged [published]"));
  CHECK_THROWS_WITH(test::puzzle_dir(), Catch::Contains("is not tagged [published]"));
}

TEST_CASE("solve: an embedding program's own pool runs every phase, with the same result", "[solve]") {
  const humpty::GeneratedPuzzle& g = test::generated(12, 12, 24, 1000, 30, 6);
  humpty::SolveOptions plain;
  plain.search.threads = 2;
  auto a = humpty::solve(g.puzzle, &g.data, plain);
  humpty::ThreadPool pool(2);
  humpty::SolveOptions shared = plain;
  shared.search.pool = &pool;
  auto b = humpty::solve(g.puzzle, &g.data, shared);
  auto c = humpty::solve(g.puzzle, &g.data, shared);  // the pool is reusable
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->sha256 == b->sha256);
  CHECK(b->sha256 == c->sha256);
  CHECK(a->search.moves == b->search.moves);
  CHECK(a->fit.mse_pred == b->fit.mse_pred);
}

namespace {
humpty::Dataset first_rows(const humpty::Dataset& data, std::size_t rows) {
  humpty::Dataset part = data;
  part.rows = rows;
  part.x.resize(rows * data.features);
  part.pred.resize(rows);
  if (data.has_truth()) part.truth.resize(rows);
  return part;
}
}  // namespace

TEST_CASE("solve: an exact fit on too few rows proves nothing", "[solve]") {
  const humpty::GeneratedPuzzle& g = test::generated(16, 16, 32, 2000, 40, 1);
  // The count grows with the blocks (their pairings and orders) and needs pred to vary.
  const std::size_t needed = humpty::rows_to_prove(16, g.data);
  CHECK(humpty::rows_to_prove(1, g.data) == 1);
  CHECK(needed > 10);
  CHECK(needed < 40);
  CHECK(humpty::rows_to_prove(32, g.data) > needed);
  CHECK(humpty::rows_to_prove(16, first_rows(g.data, 1)) == SIZE_MAX);
  humpty::Dataset flat = g.data;
  std::fill(flat.pred.begin(), flat.pred.end(), 0.5);
  CHECK(humpty::rows_to_prove(16, flat) == SIZE_MAX);

  // The right answer fits any rows; it proves itself only on enough of them.
  for (std::size_t rows : {std::size_t(3), needed - 1, needed, g.data.rows}) {
    auto fit = humpty::evaluate(g.puzzle, g.answer, first_rows(g.data, rows), 2);
    REQUIRE(fit.ok());
    CHECK(fit->exact());
    CHECK(fit->rows_needed == humpty::rows_to_prove(16, first_rows(g.data, rows)));
    CHECK(fit->proves() == (rows >= fit->rows_needed));
  }
  CHECK(!humpty::evaluate(g.puzzle, g.answer, first_rows(g.data, 3), 2)->proves());
  CHECK(humpty::evaluate(g.puzzle, g.answer, g.data, 2)->proves());

  // A wrong assembly fits one row at rounding (the search found one on a 32-block puzzle in 1 s):
  // here one row whose pred is a wrong assembly's own output, the search started there. It stops
  // at once, exact, and the report must not call that proven.
  humpty::Assembly wrong = g.answer;
  std::swap(wrong.blocks[0], wrong.blocks[5]);
  humpty::Dataset one = first_rows(g.data, 1);
  humpty::ThreadPool pool(1);
  one.pred[0] = double(humpty::network_outputs(humpty::pack_puzzle(g.puzzle), wrong, one, pool)[0]);
  humpty::SolveOptions options;
  options.order = humpty::OrderMethod::search;
  options.starts.push_back(wrong);
  auto report = humpty::solve(g.puzzle, &one, options);
  REQUIRE(report.ok());
  CHECK(report->search.stopped == humpty::StopReason::exact);
  CHECK(report->sha256 != humpty::sha256_hex(humpty::format_answer(g.answer)));
  CHECK(report->fit.exact());
  CHECK(!report->fit.proves());
}
