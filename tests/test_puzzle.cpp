#include <algorithm>
#include <filesystem>

#include "catch.hpp"
#include "pth.hpp"
#include "safetensors.hpp"
#include "support.hpp"

namespace {

// inp h x d, out d x h, last 1 x d pieces in the given order of roles.
std::vector<humpty::Layer> pieces_for(const std::string& roles, std::size_t d = 4, std::size_t h = 6) {
  std::vector<humpty::Layer> pieces;
  std::uint64_t seed = 1;
  for (char role : roles) {
    if (role == 'i') pieces.push_back(test::random_layer(h, d, seed++));
    if (role == 'o') pieces.push_back(test::random_layer(d, h, seed++));
    if (role == 'l') pieces.push_back(test::random_layer(1, d, seed++));
  }
  return pieces;
}

}  // namespace

TEST_CASE("pieces are classified by shape for any block count and widths", "[puzzle]") {
  auto puzzle = humpty::make_puzzle(pieces_for("oiliooi"), "p");
  REQUIRE(puzzle.ok());
  CHECK(puzzle->blocks() == 3);
  CHECK(puzzle->dim == 4);
  CHECK(puzzle->hidden == 6);
  CHECK(puzzle->last_piece == 2);
  CHECK(puzzle->inp_pieces == std::vector<int>{1, 3, 6});
  CHECK(puzzle->out_pieces == std::vector<int>{0, 4, 5});
  CHECK(puzzle->roles[2] == humpty::Role::last);
  // A narrow hidden layer (h < d) works too.
  auto narrow = humpty::make_puzzle(pieces_for("ilo", 8, 3), "narrow");
  REQUIRE(narrow.ok());
  CHECK(narrow->hidden == 3);
}

TEST_CASE("inconsistent piece sets are rejected with what is wrong", "[puzzle]") {
  auto message = [](std::vector<humpty::Layer> pieces) {
    auto puzzle = humpty::make_puzzle(std::move(pieces), "set");
    return puzzle.ok() ? std::string("accepted") : puzzle.message();
  };
  CHECK(message(pieces_for("ioioll")) ==
        "set: 2 pieces have the last layer's shape 1x4 (piece 4, piece 5); expected exactly one");
  CHECK(message(pieces_for("iiiool"))
            .find("set: 2 layers of 4x6 but 3 of 6x4; every block needs one of each") == 0);
  CHECK(message(pieces_for("io")).find("cannot form a network") != std::string::npos);
  auto square = pieces_for("iiol", 4, 4);  // three square pieces: no pairs of them
  CHECK(message(square).find("square") != std::string::npos);
  auto bad_bias = pieces_for("iol");
  bad_bias[1].bias.pop_back();
  CHECK(message(bad_bias) == "set: piece 1 has a bias of 3 values for 4 weight rows");
  auto no_bias_but_values = pieces_for("iol");
  no_bias_but_values[1].has_bias = false;
  CHECK(message(no_bias_but_values) == "set: piece 1 has no bias, but nonzero bias values");
  for (auto& layer : no_bias_but_values) {
    layer.has_bias = false;
    layer.bias.assign(layer.rows, 0.0f);
  }
  CHECK(message(no_bias_but_values) == "accepted");
  // A last layer of h outputs has the inp layers' shape: said so, not guessed.
  std::vector<humpty::Layer> hidden_wide = pieces_for("ioio");
  hidden_wide.push_back(test::random_layer(6, 4, 9));
  CHECK(
      message(hidden_wide) ==
      "set: 3 layers of 6x4 and 2 of 4x6: a last layer with as many outputs as the hidden width (6) has the "
      "inp layers' shape, so it cannot be told apart by shape");
  // Any other width of the last layer is told apart: as wide as the stream, or wider.
  for (std::size_t outputs : {std::size_t(4), std::size_t(9)}) {
    std::vector<humpty::Layer> wide = pieces_for("ioio");
    wide.push_back(test::random_layer(outputs, 4, 9));
    auto puzzle = humpty::make_puzzle(std::move(wide), "wide");
    REQUIRE(puzzle.ok());
    CHECK(puzzle->outputs == outputs);
    CHECK(puzzle->last_piece == 4);
  }
  auto stray = pieces_for("iiioool");
  stray.push_back(test::random_layer(2, 3, 9));
  CHECK(message(stray).find("set: shapes that fit no role") == 0);
}

TEST_CASE("a pieces directory must number its pieces 0..2N without gaps", "[puzzle]") {
  std::string dir = test::scratch_dir("gaps");
  auto pieces = pieces_for("iol");
  test::write_bytes(dir + "/piece_0.pth", humpty::write_pth(pieces[0], "archive"));
  test::write_bytes(dir + "/piece_2.pth", humpty::write_pth(pieces[2], "archive"));
  test::write_text(dir + "/README.txt", "not a piece");
  auto puzzle = humpty::read_puzzle(dir);
  REQUIRE(!puzzle.ok());
  CHECK(puzzle.message() == dir + ": piece_1.pth is missing (found 2 pieces numbered up to 2)");
  test::write_bytes(dir + "/piece_1.pth", humpty::write_pth(pieces[1], "piece_1"));
  auto complete = humpty::read_puzzle(dir);
  REQUIRE(complete.ok());
  CHECK(complete->blocks() == 1);
  const std::string empty = test::scratch_dir("empty");
  CHECK(humpty::read_puzzle(empty).message() ==
        empty + ": no layer files (.pth, .pt or .safetensors) in this directory");
  CHECK(humpty::read_puzzle(dir + "/nothing-here").message() ==
        dir + "/nothing-here: no such file or directory");
}

TEST_CASE("pieces may be named piece_<k>.pt, but not twice", "[puzzle]") {
  std::string dir = test::scratch_dir("pt");
  auto pieces = pieces_for("iol");
  test::write_bytes(dir + "/piece_0.pt", humpty::write_pth(pieces[0], "archive"));
  test::write_bytes(dir + "/piece_2.pt", humpty::write_pth(pieces[2], "archive"));
  CHECK(humpty::read_puzzle(dir).message() ==
        dir + ": piece_1.pt is missing (found 2 pieces numbered up to 2)");
  test::write_bytes(dir + "/piece_1.pth", humpty::write_pth(pieces[1], "archive"));  // the suffixes may mix
  auto mixed = humpty::read_puzzle(dir);
  REQUIRE(mixed.ok());
  CHECK(mixed->pieces[1].weight == pieces[1].weight);
  test::write_bytes(dir + "/piece_1.pt", humpty::write_pth(pieces[1], "archive"));
  CHECK(humpty::read_puzzle(dir).message() == dir + ": two files for piece 1: piece_1.pt and piece_1.pth");
  CHECK(humpty::read_puzzle(dir + "/piece_1.pt").message().find("neither a directory") != std::string::npos);
}

TEST_CASE("layer files of other names are numbered in natural name order", "[puzzle]") {
  std::string dir = test::scratch_dir("named");
  auto pieces = pieces_for("iolio");
  // Digits compare by value ("layer_2" before "layer_10"), leading zeros only break ties.
  const std::vector<std::string> names = {"layer_2.pth", "layer_10.pth", "layer_010.pth",
                                          "layer_9.safetensors", "z.pt"};
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string path = dir + "/" + names[k];
    if (names[k].find(".safetensors") != std::string::npos) {
      test::write_bytes(path, humpty::write_safetensors(pieces[k]));
    } else {
      test::write_bytes(path, humpty::write_pth(pieces[k], "archive"));
    }
  }
  test::write_text(dir + "/notes.txt", "not a piece");
  test::write_text(dir + "/._layer_2.pth", "a macOS resource fork, hidden");
  auto puzzle = humpty::read_puzzle(dir, 2);
  REQUIRE(puzzle.ok());
  CHECK(puzzle->files == std::vector<std::string>{"layer_2.pth", "layer_9.safetensors", "layer_010.pth",
                                                  "layer_10.pth", "z.pt"});
  CHECK(puzzle->pieces[1].weight == pieces[3].weight);  // layer_9
  CHECK(puzzle->pieces[2].weight == pieces[2].weight);  // layer_010 before layer_10 (a tie by value)
  CHECK(puzzle->last_piece == 2);
  // Messages name the file with the piece.
  test::write_bytes(dir + "/zz.pth", humpty::write_pth(pieces[2], "archive"));  // a second last layer
  CHECK(
      humpty::read_puzzle(dir).message() ==
      dir +
          ": 2 pieces have the last layer's shape 1x4 (piece 2 (layer_010.pth), piece 5 (zz.pth)); expected "
          "exactly one");
  // piece_<k> files number the pieces whenever there are any; other files are then ignored.
  std::filesystem::remove(dir + "/zz.pth");
  for (std::size_t k = 0; k < 3; ++k)
    test::write_bytes(dir + "/piece_" + std::to_string(k) + ".pth", humpty::write_pth(pieces[k], "archive"));
  auto numbered = humpty::read_puzzle(dir);
  REQUIRE(numbered.ok());
  CHECK(numbered->blocks() == 1);
  CHECK(numbered->files.empty());
}

TEST_CASE("a broken piece file is reported by its path", "[puzzle]") {
  std::string dir = test::scratch_dir("broken");
  auto pieces = pieces_for("iol");
  for (std::size_t k = 0; k < 3; ++k)
    test::write_bytes(dir + "/piece_" + std::to_string(k) + ".pth", humpty::write_pth(pieces[k], "archive"));
  test::write_text(dir + "/piece_1.pth", "garbage");
  auto puzzle = humpty::read_puzzle(dir);
  REQUIRE(!puzzle.ok());
  CHECK(puzzle.message().find(dir + "/piece_1.pth:0: not a ZIP archive") == 0);
  // With two broken files read on several threads, the first in piece order is named.
  test::write_text(dir + "/piece_2.pth", "more garbage");
  for (int threads : {1, 2, 3}) {
    auto again = humpty::read_puzzle(dir, threads);
    REQUIRE(!again.ok());
    CHECK(again.message().find(dir + "/piece_1.pth:") == 0);
  }
}

TEST_CASE("the published pieces form a 48-block network", "[puzzle][published]") {
  const humpty::Puzzle& puzzle = test::published_puzzle();
  CHECK(puzzle.pieces.size() == 97);
  CHECK(puzzle.blocks() == 48);
  CHECK(puzzle.dim == 48);
  CHECK(puzzle.hidden == 96);
  CHECK(puzzle.last_piece == 85);
}

TEST_CASE("answers are formatted and parsed with their roles checked", "[puzzle]") {
  auto puzzle = humpty::make_puzzle(pieces_for("oiliooi"), "p");
  REQUIRE(puzzle.ok());
  humpty::Assembly assembly{{{1, 0}, {3, 4}, {6, 5}}, 2};
  CHECK(humpty::format_answer(assembly) == "1,0,3,4,6,5,2");
  auto parsed = humpty::parse_answer(" 1,0,3,4,6,5,2\n", *puzzle, "a");
  REQUIRE(parsed.ok());
  CHECK(*parsed == assembly);
  CHECK(humpty::parse_answer("1,0,3,4,6,5", *puzzle, "a").message() ==
        "a: the answer lists 6 pieces, the puzzle has 7");
  CHECK(humpty::parse_answer("1,0,3,4,6,5,9", *puzzle, "a").message() ==
        "a:13: piece 9 does not exist (the puzzle has pieces 0 to 6)");
  CHECK(humpty::parse_answer("1,0,3,4,6,x,2", *puzzle, "a").message() ==
        "a:11: expected a piece number, got 'x'");
  CHECK(humpty::parse_answer("1,0,1,4,6,5,2", *puzzle, "a").message() == "a: piece 1 appears twice, at positions 0 and 2 (counting from 0)");
  CHECK(humpty::parse_answer("0,1,3,4,6,5,2", *puzzle, "a").message() ==
        "a: position 0 needs an inp layer, but piece 0 is an out layer");
}

TEST_CASE("a prefix is whole blocks in their roles, without the last layer", "[puzzle]") {
  auto puzzle = humpty::make_puzzle(pieces_for("oiliooi"), "p");
  REQUIRE(puzzle.ok());
  auto two = humpty::parse_blocks(" 1,0,3,4\n", *puzzle, "prefix");
  REQUIRE(two.ok());
  CHECK(*two == std::vector<humpty::Block>{{1, 0}, {3, 4}});
  auto all = humpty::parse_blocks("1,0,3,4,6,5", *puzzle, "prefix");
  REQUIRE(all.ok());
  CHECK(all->size() == 3);
  CHECK(humpty::parse_blocks("1,0,3", *puzzle, "prefix").message() ==
        "prefix: expected whole blocks (an inp piece, then its out piece), but this lists 3 pieces");
  CHECK(humpty::parse_blocks("1,0,2,4", *puzzle, "prefix").message() ==
        "prefix: position 2 needs an inp layer, but piece 2 is the last layer");
  CHECK(humpty::parse_blocks("1,0,1,4", *puzzle, "prefix").message() ==
        "prefix: piece 1 appears twice, at positions 0 and 2 (counting from 0)");
  CHECK(humpty::parse_blocks("1,9", *puzzle, "prefix").message() ==
        "prefix:3: piece 9 does not exist (the puzzle has pieces 0 to 6)");
  CHECK(humpty::parse_blocks("", *puzzle, "prefix").message() ==
        "prefix:1: expected a piece number, got nothing");
  const std::string dir = test::scratch_dir("prefix-file");
  test::write_text(dir + "/prefix.txt", "3,4\nignored\n");
  auto read = humpty::read_blocks(dir + "/prefix.txt", *puzzle);
  REQUIRE(read.ok());
  CHECK(*read == std::vector<humpty::Block>{{3, 4}});
  CHECK(humpty::read_blocks(dir + "/none.txt", *puzzle).message().find(dir + "/none.txt") == 0);
}

TEST_CASE("square blocks (d == h) get their roles from the weights, and either role is accepted",
          "[puzzle]") {
  const test::SubPuzzle square = test::square_puzzle(5, 6, 100, 3);
  const humpty::Puzzle& puzzle = square.puzzle;
  CHECK(puzzle.square);
  CHECK(puzzle.dim == 6);
  CHECK(puzzle.hidden == 6);
  CHECK(puzzle.blocks() == 5);
  CHECK(puzzle.last_piece == square.answer.last);
  // The weights pair every block right (their product's trace), whichever role each piece got.
  const humpty::Pairing pairing = humpty::pair_layers(puzzle, 1);
  for (const humpty::Block& block : square.answer.blocks) {
    const humpty::Block flipped{block.out, block.inp};
    CHECK(std::count(pairing.blocks.begin(), pairing.blocks.end(), block) +
              std::count(pairing.blocks.begin(), pairing.blocks.end(), flipped) ==
          1);
  }
  // Any block piece may play either role: the answer checks and parses whatever the guess was.
  CHECK(humpty::check_assembly(puzzle, square.answer).ok());
  auto parsed = humpty::parse_answer(humpty::format_answer(square.answer), puzzle, "a");
  REQUIRE(parsed.ok());
  CHECK(*parsed == square.answer);
  CHECK(!puzzle.can_play(puzzle.last_piece, humpty::Role::inp));
  CHECK(!puzzle.can_play(square.answer.blocks[0].inp, humpty::Role::last));
  humpty::Assembly twice = square.answer;
  twice.blocks[1].out = twice.blocks[0].inp;
  CHECK(humpty::check_assembly(puzzle, twice).message().find("is used twice") != std::string::npos);
  // with_roles: the answer's roles; a puzzle of other shapes is unchanged.
  const humpty::Puzzle roled = humpty::with_roles(puzzle, square.answer);
  for (const humpty::Block& block : square.answer.blocks) {
    CHECK(roled.roles[std::size_t(block.inp)] == humpty::Role::inp);
    CHECK(roled.roles[std::size_t(block.out)] == humpty::Role::out);
  }
  CHECK(std::is_sorted(roled.inp_pieces.begin(), roled.inp_pieces.end()));
  auto plain = humpty::make_puzzle(pieces_for("oiliooi"), "p");
  REQUIRE(plain.ok());
  CHECK(!plain->square);
  CHECK(humpty::with_roles(*plain, {{{1, 0}, {3, 4}, {6, 5}}, 2}).roles == plain->roles);
  CHECK(!plain->can_play(0, humpty::Role::inp));
}
