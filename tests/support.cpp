#include "support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <stdexcept>

#include "assert.hpp"
#include "catch.hpp"
#include "network.hpp"
#include "pth.hpp"
#include "rng.hpp"

namespace test {

namespace fs = std::filesystem;

std::string published_location() {
  const char* env = std::getenv("HUMPTY_PUZZLE");
  return env && *env ? env : "../shared/puzzle";
}

bool published_available() {
  const std::string dir = published_location();
  return fs::is_directory(dir + "/pieces") && fs::is_regular_file(dir + "/historical_data.csv");
}

bool current_test_has_tag(const std::string& tag) {
  const std::string name = Catch::getResultCapture().getCurrentTestName();
  for (const auto& test_case : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    if (test_case.name != name) continue;
    for (const auto& t : test_case.lcaseTags) {
      if (t == tag) return true;
    }
  }
  return false;
}

// A test that reads the published files must say so with its tag: that is what lets `make test`
// skip it, visibly, on a clone without them (tests/catch_main.cpp). Checked on every use, also
// when an earlier test has already loaded the files.
void require_published_tag() {
  if (!current_test_has_tag("published")) {
    throw std::logic_error("test '" + Catch::getResultCapture().getCurrentTestName() +
                           "' uses the published puzzle but is not tagged [published]");
  }
}

std::string puzzle_dir() {
  require_published_tag();
  const std::string dir = published_location();
  if (!published_available()) {
    throw std::runtime_error("the published puzzle is not at '" + dir +
                             "' (expected pieces/ and historical_data.csv); set HUMPTY_PUZZLE");
  }
  return dir;
}

const humpty::Puzzle& published_puzzle() {
  require_published_tag();
  static const humpty::Puzzle puzzle = [] {
    auto p = humpty::read_puzzle(puzzle_dir() + "/pieces");
    if (!p) throw std::runtime_error(p.message());
    return std::move(*p);
  }();
  return puzzle;
}

const humpty::Dataset& published_data() {
  require_published_tag();
  static const humpty::Dataset data = [] {
    auto d = humpty::read_csv(puzzle_dir() + "/historical_data.csv");
    if (!d) throw std::runtime_error(d.message());
    return std::move(*d);
  }();
  return data;
}

const humpty::Assembly& published_answer() {
  require_published_tag();
  static const humpty::Assembly answer = [] {
    const auto& puzzle = published_puzzle();
    humpty::Pairing pairing = humpty::pair_layers(puzzle);
    humpty::ChainOrder chain = humpty::order_by_chain(puzzle, pairing.blocks);
    return humpty::Assembly{chain.order, puzzle.last_piece};
  }();
  return answer;
}

std::string scratch_dir(const std::string& name) {
  static const std::string root = [] {
    std::string base = (fs::temp_directory_path() / ("humpty-tests-" + std::to_string(::getpid()))).string();
    fs::remove_all(base);
    fs::create_directories(base);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(fs::temp_directory_path() / ("humpty-tests-" + std::to_string(::getpid())), ignored);
    });
    return base;
  }();
  std::string dir = root + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

humpty::StateDict linear_state_dict(std::uint64_t rows, std::uint64_t cols, std::uint64_t bias_rows) {
  humpty::TensorRef weight, bias;
  weight.storage_key = "0";
  weight.storage_elements = rows * cols;
  weight.shape = {rows, cols};
  weight.stride = {cols, 1};
  bias.storage_key = "1";
  bias.storage_elements = bias_rows;
  bias.shape = {bias_rows};
  bias.stride = {1};
  return {{"weight", weight}, {"bias", bias}};
}

humpty::Layer random_layer(std::size_t rows, std::size_t cols, std::uint64_t seed, float scale) {
  humpty::Rng rng(seed);
  humpty::Layer layer;
  layer.rows = rows;
  layer.cols = cols;
  for (std::size_t i = 0; i < rows * cols; ++i) layer.weight.push_back(scale * float(rng.uniform() * 2 - 1));
  for (std::size_t i = 0; i < rows; ++i) layer.bias.push_back(scale * float(rng.uniform() * 2 - 1));
  return layer;
}

humpty::GenerateOptions options_for(std::size_t blocks, std::size_t dim, std::size_t hidden, std::size_t rows,
                                    std::size_t epochs, std::uint64_t seed) {
  humpty::GenerateOptions options;
  options.blocks = blocks;
  options.dim = dim;
  options.hidden = hidden;
  options.rows = rows;
  options.epochs = epochs;
  options.seed = seed;
  return options;
}

const humpty::GeneratedPuzzle& generated(std::size_t blocks, std::size_t dim, std::size_t hidden,
                                         std::size_t rows, std::size_t epochs, std::uint64_t seed) {
  return generated(options_for(blocks, dim, hidden, rows, epochs, seed));
}

const humpty::GeneratedPuzzle& generated(const humpty::GenerateOptions& options) {
  // Trained once per process and kept: several tests cut sub-puzzles from the same network.
  HUMPTY_ASSERT(options.data == nullptr);
  static std::map<std::string, humpty::GeneratedPuzzle> cache;
  char key[256];
  std::snprintf(key, sizeof key, "%zu/%zu/%zu/%zu/%zu/%zu/%.17g/%.17g/%d/%d/%d/%d/%llu", options.blocks,
                options.dim, options.hidden, options.rows, options.epochs, options.batch, options.lr,
                options.weight_decay, int(options.optimizer), int(options.zero_bias), int(options.no_bias),
                int(options.inputs), (unsigned long long)options.seed);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  auto made = humpty::generate_puzzle(options);
  if (!made) throw std::runtime_error(made.message());
  return cache.emplace(key, std::move(*made)).first->second;
}

const humpty::GeneratedPuzzle& base_network() {
  return generated(kBaseBlocks, 16, 32, 2000, 40, 11);
}

SubPuzzle sub_puzzle(const std::vector<std::size_t>& positions, std::size_t rows, std::uint64_t seed) {
  const auto& base = base_network();
  const auto& full = base.puzzle;
  const auto& answer = base.answer;
  const std::size_t n = positions.size();
  // New piece numbers: a seeded shuffle of 0..2n.
  std::vector<int> number(2 * n + 1);
  std::iota(number.begin(), number.end(), 0);
  humpty::Rng rng(seed);
  rng.shuffle(number);
  std::vector<humpty::Layer> pieces(2 * n + 1);
  SubPuzzle sub;
  for (std::size_t b = 0; b < n; ++b) {
    const humpty::Block& block = answer.blocks[positions[b]];
    pieces[std::size_t(number[2 * b])] = full.pieces[std::size_t(block.inp)];
    pieces[std::size_t(number[2 * b + 1])] = full.pieces[std::size_t(block.out)];
    sub.answer.blocks.push_back({number[2 * b], number[2 * b + 1]});
  }
  pieces[std::size_t(number[2 * n])] = full.pieces[std::size_t(full.last_piece)];
  sub.answer.last = number[2 * n];
  auto puzzle = humpty::make_puzzle(std::move(pieces), "sub-puzzle");
  if (!puzzle) throw std::runtime_error(puzzle.message());
  sub.puzzle = std::move(*puzzle);

  const auto& data = base.data;
  if (rows > data.rows) throw std::logic_error("sub_puzzle: more rows than the base network's data");
  sub.data.source = "sub-puzzle data";
  sub.data.rows = rows;
  sub.data.features = data.features;
  sub.data.feature_names = data.feature_names;
  sub.data.x.assign(data.x.begin(), data.x.begin() + std::ptrdiff_t(rows * data.features));
  // pred = this network's own output, from the library's forward pass: the right assembly then
  // has MSE 0 by construction.
  humpty::ThreadPool pool(1);
  std::vector<float> outputs =
      humpty::network_outputs(humpty::pack_puzzle(sub.puzzle), sub.answer, sub.data, pool);
  sub.data.pred.assign(outputs.begin(), outputs.end());
  return sub;
}

SubPuzzle square_puzzle(std::size_t blocks, std::size_t dim, std::size_t rows, std::uint64_t seed) {
  std::vector<int> number(2 * blocks + 1);
  std::iota(number.begin(), number.end(), 0);
  humpty::Rng rng(seed);
  rng.shuffle(number);
  std::vector<humpty::Layer> pieces(2 * blocks + 1);
  SubPuzzle sub;
  for (std::size_t b = 0; b < blocks; ++b) {
    humpty::Layer inp = random_layer(dim, dim, seed * 1000 + 2 * b, 0.5f);
    humpty::Layer out = random_layer(dim, dim, seed * 1000 + 2 * b + 1, 0.05f);
    // Units of different sizes, as training leaves them: unit u's inp row and bias scaled by s_u,
    // and so (through the transpose) its out column. The inp's bias is what tells the roles.
    for (std::size_t u = 0; u < dim; ++u) {
      const float size = 0.2f + 0.8f * float(rng.uniform());
      for (std::size_t c = 0; c < dim; ++c) inp.weight[u * dim + c] *= size;
      inp.bias[u] = size * (inp.bias[u] < 0 ? -1.0f : 1.0f);
    }
    for (std::size_t r = 0; r < dim; ++r) {
      for (std::size_t c = 0; c < dim; ++c) out.weight[r * dim + c] += -0.3f * inp.weight[c * dim + r];
    }
    pieces[std::size_t(number[2 * b])] = inp;
    pieces[std::size_t(number[2 * b + 1])] = out;
    sub.answer.blocks.push_back({number[2 * b], number[2 * b + 1]});
  }
  pieces[std::size_t(number[2 * blocks])] = random_layer(1, dim, seed * 1000 + 999, 0.5f);
  sub.answer.last = number[2 * blocks];
  auto puzzle = humpty::make_puzzle(std::move(pieces), "square puzzle");
  if (!puzzle) throw std::runtime_error(puzzle.message());
  sub.puzzle = std::move(*puzzle);
  sub.data.source = "square puzzle data";
  sub.data.rows = rows;
  sub.data.features = dim;
  for (std::size_t c = 0; c < dim; ++c) sub.data.feature_names.push_back("x" + std::to_string(c));
  for (std::size_t i = 0; i < rows * dim; ++i) sub.data.x.push_back(float(rng.normal()));
  humpty::ThreadPool pool(1);
  std::vector<float> outputs =
      humpty::network_outputs(humpty::pack_puzzle(sub.puzzle), sub.answer, sub.data, pool);
  sub.data.pred.assign(outputs.begin(), outputs.end());
  return sub;
}

void write_pieces(const humpty::Puzzle& puzzle, const std::string& dir) {
  fs::create_directories(dir);
  for (std::size_t k = 0; k < puzzle.pieces.size(); ++k) {
    write_bytes(dir + "/piece_" + std::to_string(k) + ".pth", humpty::write_pth(puzzle.pieces[k], "archive"));
  }
}

void write_csv(const humpty::Dataset& data, const std::string& path) {
  std::string text;
  for (std::size_t c = 0; c < data.features; ++c) text += "measurement_" + std::to_string(c) + ",";
  text += data.has_truth() ? "pred,true\n" : "pred\n";
  char number[64];
  for (std::size_t r = 0; r < data.rows; ++r) {
    for (std::size_t c = 0; c < data.features; ++c) {
      std::snprintf(number, sizeof number, "%.9g,", double(data.x[r * data.features + c]));
      text += number;
    }
    std::snprintf(number, sizeof number, "%.17g", data.pred[r]);
    text += number;
    if (data.has_truth()) {
      std::snprintf(number, sizeof number, ",%.17g", data.truth[r]);
      text += number;
    }
    text += "\n";
  }
  write_text(path, text);
}

Run run_cli(const std::string& arguments) {
  return run_shell("$HUMPTY " + arguments);
}

Run run_shell(const std::string& script) {
  static int counter = 0;
  std::string dir = scratch_dir("cli-" + std::to_string(counter++));
  std::string command =
      "HUMPTY=" + std::string(HUMPTY_CLI) + "; { " + script + "\n} >" + dir + "/out 2>" + dir + "/err";
  int status = std::system(command.c_str());
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto out = read_bytes(dir + "/out"), err = read_bytes(dir + "/err");
  run.out.assign(out.begin(), out.end());
  run.err.assign(err.begin(), err.end());
  return run;
}

}  // namespace test
