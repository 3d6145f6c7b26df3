#include "catch.hpp"
#include "humpty/humpty.hpp"

namespace {

humpty::Layer layer(std::size_t rows, std::size_t cols, std::vector<float> weight, std::vector<float> bias) {
  humpty::Layer l;
  l.rows = rows;
  l.cols = cols;
  l.weight = std::move(weight);
  l.bias = std::move(bias);
  return l;
}

// d = 2, h = 3, two blocks; every value below is exact in float, so outputs are exact too.
humpty::Puzzle tiny_puzzle() {
  std::vector<humpty::Layer> pieces;
  pieces.push_back(layer(3, 2, {1, 0, 0, 1, 1, 1}, {0, -1, 0.5f}));  // 0: inp of block A
  pieces.push_back(layer(2, 3, {1, 0, 1, 0, 2, 0}, {0.5f, 0}));      // 1: out of block A
  pieces.push_back(layer(1, 2, {1, -1}, {0.25f}));                   // 2: last
  pieces.push_back(layer(3, 2, {0, 0, 0, 0, 0, 0}, {0, 0, 0}));      // 3: inp of block B
  pieces.push_back(layer(2, 3, {0, 0, 0, 0, 0, 0}, {1, 0}));         // 4: out of block B: adds (1, 0)
  auto puzzle = humpty::make_puzzle(std::move(pieces), "tiny");
  REQUIRE(puzzle.ok());
  return *puzzle;
}

}  // namespace

TEST_CASE("the forward pass matches a network computed by hand", "[network]") {
  const humpty::Puzzle puzzle = tiny_puzzle();
  humpty::Dataset data;
  data.source = "hand";
  data.rows = 2;
  data.features = 2;
  data.x = {1, 2, -3, 1};
  // Row 1: inp -> relu(1, 1, 3.5); out adds (5, 2): x = (6, 4); block B adds (1, 0): (7, 4);
  // last: 7 - 4 + 0.25 = 3.25. Row 2: relu(-3, 0, -1.5) = 0; out adds (0.5, 0): (-2.5, 1);
  // B: (-1.5, 1); last: -1.5 - 1 + 0.25 = -2.25.
  data.pred = {3.25, -2.25};
  data.truth = {3.25, -1.25};
  REQUIRE(humpty::check_data(puzzle, data).ok());
  humpty::Assembly assembly{{{0, 1}, {3, 4}}, 2};
  humpty::Fit fit = *humpty::evaluate(puzzle, assembly, data, 1);
  CHECK(fit.mse_pred == 0.0);
  CHECK(fit.mse_true == 0.5);  // (0^2 + 1^2) / 2
  CHECK(fit.exact());
  // Block B first: (1,2) -> (2,2) -> relu(2, 1, 4.5) adds (7, 2): (9, 4) -> 5.25.
  humpty::Assembly swapped{{{3, 4}, {0, 1}}, 2};
  humpty::Fit wrong = *humpty::evaluate(puzzle, swapped, data, 2);
  CHECK(!wrong.exact());
  CHECK(wrong.max_error >= 2.0);
}

TEST_CASE("data that does not fit the network is rejected", "[network]") {
  const humpty::Puzzle puzzle = tiny_puzzle();
  humpty::Dataset data;
  data.source = "wide.csv";
  data.rows = 1;
  data.features = 3;
  data.x = {1, 2, 3};
  data.pred = {0};
  CHECK(humpty::check_data(puzzle, data).message() ==
        "wide.csv: data has 3 feature columns, the network's input width is 2 (tiny)");
}
