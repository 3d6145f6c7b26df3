#include <algorithm>
#include <set>

#include "catch.hpp"
#include "roles.hpp"
#include "support.hpp"

namespace {

std::set<int> inps_of(const humpty::Assembly& assembly) {
  std::set<int> inps;
  for (const humpty::Block& block : assembly.blocks) inps.insert(block.inp);
  return inps;
}

std::size_t right_pairs(const humpty::Assembly& guess, const humpty::Assembly& answer) {
  std::size_t right = 0;
  for (const humpty::Block& block : guess.blocks)
    right += std::count(answer.blocks.begin(), answer.blocks.end(), block) > 0;
  return right;
}

}  // namespace

TEST_CASE("roles: the data's first-order split of square pieces, the same for any threads", "[roles]") {
  // Untrained square blocks: the weights say nothing of the roles, the first-order regression
  // ranks the right split first (Python: 6 of 6 pairs on the 6-block net of this kind).
  const humpty::GeneratedPuzzle& net = test::generated(6, 8, 8, 2000, 0, 1);
  REQUIRE(net.puzzle.square);
  const humpty::SearchTuning tuning;
  std::vector<humpty::Assembly> by_threads[2];
  for (int threads : {1, 2}) {
    humpty::ThreadPool pool(threads);
    by_threads[threads - 1] = humpty::data_role_guesses(net.puzzle, net.data, 8, tuning.role_fit_rows,
                                                        tuning.role_split_limit, pool);
  }
  REQUIRE(by_threads[0].size() == 8);
  REQUIRE(by_threads[1].size() == 8);
  for (std::size_t k = 0; k < 8; ++k) {
    CHECK(humpty::format_answer(by_threads[0][k]) == humpty::format_answer(by_threads[1][k]));
    CHECK(humpty::check_roles(humpty::with_roles(net.puzzle, by_threads[0][k]), by_threads[0][k].blocks,
                              "guess"));
  }
  const humpty::Assembly& first = by_threads[0][0];
  CHECK(inps_of(first) == inps_of(net.answer));
  CHECK(right_pairs(first, net.answer) == 6);
  // Every split is another: no two guesses share their inps.
  std::set<std::set<int>> splits;
  for (const humpty::Assembly& guess : by_threads[0]) splits.insert(inps_of(guess));
  CHECK(splits.size() == 8);

  // Where the splits are too many to rank, or the blocks are not square: none.
  humpty::ThreadPool pool(2);
  CHECK(humpty::data_role_guesses(net.puzzle, net.data, 8, 2000, 900, pool).empty());  // C(12, 6) = 924
  const humpty::GeneratedPuzzle& plain = test::generated(3, 4, 8, 200, 2, 5);
  CHECK(humpty::data_role_guesses(plain.puzzle, plain.data, 8, 2000, 1e9, pool).empty());
}

namespace {

// Before the data's splits (the weights' guess and its flips only), none of these was proven:
// humpty's own square nets of 6 and 8 blocks (d = h = 8 and 16) failed 0 of 4 each.
void check_proven_from_data(std::size_t blocks, std::size_t dim, std::size_t epochs) {
  const humpty::GeneratedPuzzle& net = test::generated(blocks, dim, dim, 2000, epochs, 1);
  REQUIRE(net.puzzle.square);
  humpty::SolveOptions options;
  options.search.threads = 2;
  auto report = humpty::solve(net.puzzle, &net.data, options);
  REQUIRE(report.ok());
  CHECK(report->fit.proves());
  CHECK(report->answer == humpty::format_answer(net.answer));
  CHECK(report->seconds.front().first == "roles");
}

}  // namespace

TEST_CASE("roles: an untrained square net is proven from the data's first split", "[roles][solve]") {
  check_proven_from_data(6, 8, 0);
}

// Its right split ranks 4th, after searches of three wrong ones and of the weights' split: 12 s
// under the sanitizers, so left to the plain builds (`make sanitize` runs it too).
TEST_CASE("roles: a trained square net is proven from a later split of the data's", "[roles][solve][slow]") {
  check_proven_from_data(8, 16, 40);
}

TEST_CASE("roles: pairs from the data of an untrained net, the same for any threads", "[roles]") {
  // 16 untrained blocks (d = 24, h = 48): the weights pair 1 of them (the score is at chance), the
  // data's first-order regression all 16, most of them leading their row and column.
  const humpty::GeneratedPuzzle& net = test::generated(16, 24, 48, 4000, 0, 1);
  REQUIRE(!net.puzzle.square);
  const humpty::SearchTuning tuning;
  std::vector<humpty::Block> by_threads[2];
  for (int threads : {1, 2}) {
    humpty::ThreadPool pool(threads);
    by_threads[threads - 1] = humpty::data_pairs(net.puzzle, net.data, tuning.data_pairs_rows,
                                                 tuning.data_pairs_limit, tuning.data_pairs_lead_share, pool);
  }
  REQUIRE(by_threads[0].size() == 16);
  CHECK(by_threads[0] == by_threads[1]);
  const humpty::Assembly guess{by_threads[0], net.puzzle.last_piece};
  CHECK(humpty::check_assembly(net.puzzle, guess));
  CHECK(right_pairs(guess, net.answer) == 16);

  humpty::ThreadPool pool(2);
  // Beyond the limit, or with a share of leading pairs out of reach: nothing.
  CHECK(humpty::data_pairs(net.puzzle, net.data, 4000, 15, 0.5, pool).empty());
  CHECK(humpty::data_pairs(net.puzzle, net.data, 4000, 20, 1.0, pool).empty());
  // A trained net whose chosen pairs mostly trail a rival (the search's pinned net: 16 blocks,
  // 40 epochs of Adam; the weights' pairs are searched from there) and square blocks: nothing.
  const humpty::GeneratedPuzzle& trained = test::generated(16, 16, 32, 2000, 40, 3);
  CHECK(humpty::data_pairs(trained.puzzle, trained.data, 4000, 20, 0.5, pool).empty());
  const humpty::GeneratedPuzzle& square = test::generated(6, 8, 8, 2000, 0, 1);
  CHECK(humpty::data_pairs(square.puzzle, square.data, 4000, 20, 0.5, pool).empty());
}

TEST_CASE("roles: an untrained net is proven from the data's pairs", "[roles][solve]") {
  // Before the data's pairs joined the starts the search took about 20 s to prove this net (the
  // CLI, two threads); with them, about 0.1 s.
  const humpty::GeneratedPuzzle& net = test::generated(16, 24, 48, 4000, 0, 1);
  humpty::SolveOptions options;
  options.search.threads = 2;
  auto report = humpty::solve(net.puzzle, &net.data, options);
  REQUIRE(report.ok());
  CHECK(report->data_pairs == 16);
  CHECK(report->fit.proves());
  CHECK(report->answer == humpty::format_answer(net.answer));
}
