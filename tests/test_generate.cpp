#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "catch.hpp"
#include "support.hpp"

using test::options_for;

TEST_CASE("generate: a trained network, shuffled; the same seed gives the same puzzle for any threads",
          "[generate]") {
  humpty::GenerateOptions options = options_for(3, 6, 10, 300, 15, 7);
  std::vector<std::uint8_t> bytes[2];
  double loss[2];
  for (int threads : {1, 2}) {
    options.threads = threads;
    auto generated = humpty::generate_puzzle(options);
    REQUIRE(generated.ok());
    CHECK(generated->puzzle.blocks() == 3);
    CHECK(generated->data.rows == 300);
    CHECK(generated->data.has_truth());
    // pred is the network's own output: the right assembly is exact.
    CHECK(humpty::evaluate(generated->puzzle, generated->answer, generated->data)->mse_pred == 0.0);
    bytes[threads - 1] = humpty::encode_bundle(generated->puzzle.pieces, &generated->data);
    loss[threads - 1] = generated->loss;
  }
  CHECK(bytes[0] == bytes[1]);
  CHECK(loss[0] == loss[1]);
  CHECK(loss[0] < 0.8);  // trained: the target has unit variance
}

TEST_CASE("generate: training lowers the loss", "[generate]") {
  humpty::GenerateOptions options = options_for(2, 5, 12, 400, 0, 3);
  auto untrained = humpty::generate_puzzle(options);
  options.epochs = 30;
  auto trained = humpty::generate_puzzle(options);
  REQUIRE(untrained.ok());
  REQUIRE(trained.ok());
  CHECK(trained->loss < 0.5 * untrained->loss);
}

TEST_CASE("generate: bad options are refused", "[generate]") {
  humpty::GenerateOptions options;
  options.blocks = 0;
  CHECK(!humpty::generate_puzzle(options).ok());
  options.blocks = 2;
  options.dim = 0;
  CHECK(humpty::generate_puzzle(options).message() == "dim and hidden must be 1 to 4096");
  // A stream of width 1 is a network too (its last layer as wide as the stream).
  auto narrow = humpty::generate_puzzle(options_for(2, 1, 3, 50, 1, 8));
  REQUIRE(narrow.ok());
  CHECK(narrow->puzzle.dim == 1);
}

TEST_CASE("generate: a network of several outputs regresses a target each and is solved from its data",
          "[generate][search]") {
  humpty::GenerateOptions options = options_for(8, 12, 24, 1200, 30, 4);
  auto one = humpty::generate_puzzle(options);
  options.outputs = 3;
  auto untrained = [&] {
    humpty::GenerateOptions o = options;
    o.epochs = 0;
    return humpty::generate_puzzle(o);
  }();
  std::vector<std::uint8_t> bytes[2];
  for (int threads : {1, 2}) {
    options.threads = threads;
    auto generated = humpty::generate_puzzle(options);
    REQUIRE(generated.ok());
    bytes[threads - 1] = humpty::encode_bundle(generated->puzzle.pieces, &generated->data);
    if (threads == 2) continue;
    REQUIRE(one.ok());
    REQUIRE(untrained.ok());
    CHECK(generated->puzzle.outputs == 3);
    CHECK(generated->data.outputs == 3);
    CHECK(generated->data.pred_rest.size() == 2 * 1200);
    CHECK(generated->data.truth_rest.size() == 2 * 1200);
    CHECK(generated->data.truth == one->data.truth);  // output 0's target is the single output's
    CHECK(generated->data.truth_rest != std::vector<double>(2 * 1200, generated->data.truth[0]));
    CHECK(generated->loss < 0.6 * untrained->loss);  // every output is trained, not just the first
    auto fit = humpty::evaluate(generated->puzzle, generated->answer, generated->data);
    REQUIRE(fit.ok());
    CHECK(fit->mse_pred == 0.0);
    CHECK(fit->mse_rest == 0.0);
    CHECK(std::fabs(fit->mse_true - generated->loss) <= 1e-12 * generated->loss);  // over all outputs
    humpty::SolveOptions solve_options;
    auto report = humpty::solve(generated->puzzle, &generated->data, solve_options);
    REQUIRE(report.ok());
    CHECK(report->fit.proves());
    CHECK(report->assembly == generated->answer);
  }
  CHECK(bytes[0] == bytes[1]);
  options.outputs = 0;
  CHECK(humpty::generate_puzzle(options).message() == "outputs must be 1 to 256");
  {
    // o = h: the last layer would have the inp layers' shape (h x d), so it is refused.
    humpty::GenerateOptions shaped = options;
    shaped.outputs = 24;
    CHECK(humpty::generate_puzzle(shaped).message() ==
          "outputs must differ from hidden: the last layer is told apart by its shape");
    // o = d and o > d are told apart (d x d, 16 x d among h x d and d x h), read back and solved.
    for (std::size_t outputs : {std::size_t(12), std::size_t(16)}) {
      humpty::GenerateOptions wide = options_for(4, 12, 24, 400, 10, 5);
      wide.outputs = outputs;
      auto made = humpty::generate_puzzle(wide);
      REQUIRE(made.ok());
      auto read = humpty::make_puzzle(made->puzzle.pieces, "wide");
      REQUIRE(read.ok());
      CHECK(read->outputs == outputs);
      auto report = humpty::solve(*read, &made->data, {});
      REQUIRE(report.ok());
      CHECK(report->assembly == made->answer);
      CHECK(report->fit.proves());
    }
  }
  options.outputs = 2;
  options.data = &one->data;  // one target, two outputs asked for
  CHECK(humpty::generate_puzzle(options).message() ==
        "generated (seed 4): the data has targets for 1 output, not 2");
}

TEST_CASE("generate: layers without biases (bias=False) are trained, written and solved as such",
          "[generate][search]") {
  humpty::GenerateOptions options = options_for(8, 12, 24, 1000, 40, 1);
  options.no_bias = true;
  auto generated = humpty::generate_puzzle(options);
  REQUIRE(generated.ok());
  for (const humpty::Layer& layer : generated->puzzle.pieces) {
    CHECK(!layer.has_bias);
    CHECK(std::all_of(layer.bias.begin(), layer.bias.end(), [](float b) { return b == 0; }));
  }
  // The same draws as the biased net: the weights differ only by what training did with them.
  humpty::GenerateOptions untrained = options_for(8, 12, 24, 1000, 0, 1);
  auto biased = humpty::generate_puzzle(untrained);
  untrained.no_bias = true;
  auto plain = humpty::generate_puzzle(untrained);
  REQUIRE(biased.ok());
  REQUIRE(plain.ok());
  CHECK(plain->puzzle.pieces[0].weight == biased->puzzle.pieces[0].weight);
  // Without biases there is no bias path; the data still prove the answer.
  humpty::SolveOptions solve_options;
  auto guess = humpty::solve(generated->puzzle, nullptr, solve_options);
  REQUIRE(guess.ok());
  CHECK(!guess->chain.by_bias);
  auto report = humpty::solve(generated->puzzle, &generated->data, solve_options);
  REQUIRE(report.ok());
  CHECK(report->fit.exact());
  CHECK(report->assembly == generated->answer);
  options.zero_bias = true;
  CHECK(humpty::generate_puzzle(options).message().find("zero biases and no biases exclude each other") == 0);
}

TEST_CASE("generate: PyTorch reads the generated pieces (when python3 with torch is installed)",
          "[generate][torch]") {
  if (std::system("python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    WARN(
        "SKIPPED: python3 with torch is not installed here; the .pth files were not checked with torch.load");
    return;
  }
  for (bool no_bias : {false, true}) {
    humpty::GenerateOptions options = options_for(2, 4, 6, 50, 2, 1);
    options.no_bias = no_bias;
    auto generated = humpty::generate_puzzle(options);
    REQUIRE(generated.ok());
    std::string dir = test::scratch_dir(no_bias ? "torch-no-bias" : "torch");
    REQUIRE(humpty::write_pieces_directory(dir, generated->puzzle.pieces).ok());
    // torch prints every tensor's values; compare them with ours, to 9 significant digits. A
    // layer without a bias must load into nn.Linear(..., bias=False) as it is.
    std::string script = dir + "/check.py";
    test::write_text(
        script,
        "import sys, torch\n"
        "for k in range(int(sys.argv[2])):\n"
        "    d = torch.load(f'{sys.argv[1]}/piece_{k}.pth', weights_only=True)\n"
        "    if sys.argv[3] == 'no-bias':\n"
        "        assert list(d.keys()) == ['weight'], d.keys()\n"
        "        rows, cols = d['weight'].shape\n"
        "        torch.nn.Linear(cols, rows, bias=False).load_state_dict(d)\n"
        "        d['bias'] = torch.zeros(rows)\n"
        "    assert list(d.keys()) == ['weight', 'bias'], d.keys()\n"
        "    print(' '.join('%.9g' % v for v in d['weight'].flatten().tolist() + d['bias'].tolist()))\n");
    std::string command = "python3 " + script + " " + dir + " " +
                          std::to_string(generated->puzzle.pieces.size()) + (no_bias ? " no-bias" : " bias") +
                          " > " + dir + "/out.txt";
    REQUIRE(std::system(command.c_str()) == 0);
    auto out = test::read_bytes(dir + "/out.txt");
    std::string text(out.begin(), out.end());
    std::string expected;
    char number[32];
    for (const auto& piece : generated->puzzle.pieces) {
      std::string line;
      for (float v : piece.weight)
        line += (line.empty() ? "" : " ") +
                std::string(number, std::snprintf(number, sizeof number, "%.9g", double(v)));
      for (float v : piece.bias)
        line += " " + std::string(number, std::snprintf(number, sizeof number, "%.9g", double(v)));
      expected += line + "\n";
    }
    CHECK(text == expected);
  }
}

TEST_CASE("generate: puzzles of several sizes, seeds and training lengths are solved exactly",
          "[generate][search]") {
  struct Case {
    std::size_t blocks, dim, hidden, rows, epochs;
    double weight_decay;
    std::uint64_t seed;
  };
  for (const Case& c : {Case{6, 8, 16, 1000, 30, 0, 11}, Case{8, 12, 24, 1000, 40, 0, 1},
                        Case{8, 12, 24, 1000, 40, 0, 2}, Case{12, 12, 24, 1500, 80, 0, 3},
                        Case{12, 16, 24, 1500, 20, 0.01, 4}, Case{16, 16, 32, 2000, 40, 0, 3}}) {
    humpty::GenerateOptions options = options_for(c.blocks, c.dim, c.hidden, c.rows, c.epochs, c.seed);
    options.weight_decay = c.weight_decay;
    auto generated = humpty::generate_puzzle(options);
    REQUIRE(generated.ok());
    humpty::SolveOptions solve_options;
    auto report = humpty::solve(generated->puzzle, &generated->data, solve_options);
    REQUIRE(report.ok());
    INFO(c.blocks << " blocks, seed " << c.seed << ": "
                  << (report->searched ? humpty::stop_reason_name(report->search.stopped) : "chain"));
    CHECK(report->fit.exact());
    CHECK(report->assembly == generated->answer);
  }
}

TEST_CASE("generate: every optimiser, zero biases, heavy-tailed inputs; the same bits for any threads",
          "[generate]") {
  struct Regime {
    humpty::Optimizer optimizer;
    double lr, weight_decay;
    bool zero_bias;
    humpty::InputDistribution inputs;
  };
  for (const Regime& r : {Regime{humpty::Optimizer::adam, 1e-3, 0, false, humpty::InputDistribution::uniform},
                          Regime{humpty::Optimizer::adamw, 1e-3, 0.01, false, humpty::InputDistribution::t3},
                          Regime{humpty::Optimizer::sgd, 0.01, 0, true, humpty::InputDistribution::normal},
                          Regime{humpty::Optimizer::adam, 1e-3, 1e-4, true, humpty::InputDistribution::t3}}) {
    humpty::GenerateOptions options = options_for(3, 6, 10, 300, 10, 5);
    options.optimizer = r.optimizer;
    options.lr = r.lr;
    options.weight_decay = r.weight_decay;
    options.zero_bias = r.zero_bias;
    options.inputs = r.inputs;
    options.epochs = 0;
    auto untrained = humpty::generate_puzzle(options);
    options.epochs = 10;
    std::vector<std::uint8_t> bytes[2];
    for (int threads : {1, 2}) {
      options.threads = threads;
      auto generated = humpty::generate_puzzle(options);
      REQUIRE(generated.ok());
      bytes[threads - 1] = humpty::encode_bundle(generated->puzzle.pieces, &generated->data);
      INFO(humpty::optimizer_name(r.optimizer) << ", inputs " << humpty::input_name(r.inputs));
      CHECK(generated->loss < untrained->loss);  // it trained
      CHECK(humpty::evaluate(generated->puzzle, generated->answer, generated->data)->mse_pred == 0.0);
      if (r.zero_bias) {
        // The pieces are trained, so biases moved; the untrained ones are all zero.
        for (const auto& piece : untrained->puzzle.pieces) {
          for (float b : piece.bias) CHECK(b == 0.0f);
        }
      }
    }
    CHECK(bytes[0] == bytes[1]);
  }
  // Heavy tails: the t3 features have far larger extremes than normal ones at the same variance.
  humpty::GenerateOptions t3 = options_for(1, 8, 4, 4000, 0, 1), normal = t3;
  t3.inputs = humpty::InputDistribution::t3;
  auto a = humpty::generate_puzzle(t3), b = humpty::generate_puzzle(normal);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto max_abs = [](const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::fabs(x));
    return m;
  };
  CHECK(max_abs(a->data.x) > 2 * max_abs(b->data.x));
}

TEST_CASE("generate: a user's own data; divergence is an error, nothing is written", "[generate][cli]") {
  humpty::GenerateOptions options = options_for(2, 4, 8, 200, 5, 3);
  auto source = humpty::generate_puzzle(options);
  REQUIRE(source.ok());
  humpty::GenerateOptions on_data = options_for(3, 99, 12, 1, 5, 4);
  on_data.data = &source->data;  // dim and rows come from the data
  auto trained = humpty::generate_puzzle(on_data);
  REQUIRE(trained.ok());
  CHECK(trained->puzzle.dim == 4);
  CHECK(trained->data.rows == 200);
  CHECK(trained->data.x == source->data.x);
  CHECK(trained->data.truth == source->data.truth);
  humpty::Dataset no_truth = source->data;
  no_truth.truth.clear();
  on_data.data = &no_truth;
  CHECK(humpty::generate_puzzle(on_data).message().find("needs a `true` column") != std::string::npos);

  const std::string dir = test::scratch_dir("diverge");
  auto diverged = test::run_cli("generate -q -o " + dir + "/out --lr 1e30 --blocks 2 --dim 4 --hidden 8");
  CHECK(diverged.exit_code == 3);
  CHECK(diverged.err.find("training diverged") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/out"));
  // CLI: --data trains on a CSV's features and true.
  test::write_csv(source->data, dir + "/mine.csv");
  auto mine = test::run_cli("generate -q -o " + dir + "/mine --data " + dir + "/mine.csv --blocks 3 --hidden 6 --epochs 3");
  CHECK(mine.exit_code == 0);
  auto puzzle = humpty::read_puzzle(dir + "/mine/pieces");
  REQUIRE(puzzle.ok());
  CHECK(puzzle->dim == 4);
  auto bad = test::run_cli("generate -q -o " + dir + "/x --optimizer rmsprop");
  CHECK(bad.exit_code == 2);
  // Several outputs: generated, written with true_0 .., solved and proven from the CSV; trained
  // again from that CSV with as many outputs as its pred columns, unless told otherwise.
  auto three =
      test::run_cli("generate -q -o " + dir + "/three --outputs 3 --blocks 6 --dim 6 --hidden 12 --rows 900");
  REQUIRE(three.exit_code == 0);
  const std::string csv = dir + "/three/historical_data.csv";
  auto text = test::read_bytes(csv);
  CHECK(std::string(text.begin(), text.end()).find(",pred_0,pred_1,pred_2,true_0,true_1,true_2\n") !=
        std::string::npos);
  auto solved = test::run_cli("solve -q " + dir + "/three/pieces --data " + csv);
  CHECK(solved.exit_code == 0);
  auto answer = test::read_bytes(dir + "/three/answer.txt");  // the answer's line, then its sha256
  CHECK(solved.out.size() > 20);
  CHECK(std::string(answer.begin(), answer.end()).find(solved.out) == 0);
  auto again =
      test::run_cli("generate -q -o " + dir + "/again --data " + csv + " --blocks 3 --hidden 8 --epochs 2");
  CHECK(again.exit_code == 0);
  auto again_puzzle = humpty::read_puzzle(dir + "/again/pieces");
  REQUIRE(again_puzzle.ok());
  CHECK(again_puzzle->outputs == 3);
  auto fewer =
      test::run_cli("generate -q -o " + dir + "/fewer --data " + csv + " --outputs 2 --blocks 3 --hidden 8");
  CHECK(fewer.exit_code == 2);
  CHECK(fewer.err.find("the data has targets for 3 outputs, not 2") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/fewer"));
}
