// Pieces stored at half precision (storage.cpp): told from their values, and proven within what
// the rounding of their weights explains when pred came from the weights before.
#include <cmath>
#include <cstring>

#include "catch.hpp"
#include "network.hpp"
#include "parallel.hpp"
#include "storage.hpp"
#include "support.hpp"

namespace {

// v rounded to the nearest bfloat16 (ties to even), as torch's .to(torch.bfloat16) rounds.
float to_bfloat16(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&v, &bits, sizeof bits);
  return v;
}

// v rounded to the nearest float16 (ties to even; no overflow in these tests).
float to_float16(float v) {
  if (v == 0) return v;
  const int e = std::max(std::ilogb(std::fabs(double(v))), -14);
  return float(std::ldexp(std::nearbyint(std::ldexp(double(v), 10 - e)), e - 10));
}

// The puzzle with every piece's values rounded by `round`.
humpty::Puzzle rounded(humpty::Puzzle puzzle, float (*round)(float)) {
  for (humpty::Layer& layer : puzzle.pieces) {
    for (float& v : layer.weight) v = round(v);
    for (float& v : layer.bias) v = round(v);
  }
  return puzzle;
}

// The generated puzzle with its pieces rounded by `round` (which must read back as `bits`), and
// its right answer's fit against the float32 network's pred: the rounding shows, the level is taken.
humpty::Fit rounded_fit(const humpty::GeneratedPuzzle& g, float (*round)(float), int bits,
                        humpty::Puzzle& half) {
  half = rounded(g.puzzle, round);
  REQUIRE(humpty::stored_mantissa_bits(half) == bits);
  auto fit = humpty::evaluate(half, g.answer, g.data, 2);
  REQUIRE(fit.ok());
  CHECK(fit->mse_pred > humpty::rounding_tolerance(g.data));
  CHECK(fit->stored_bits == bits);
  CHECK(fit->tolerance > humpty::rounding_tolerance(g.data));
  return *fit;
}

}  // namespace

TEST_CASE("storage: a layer's precision is told from its values", "[storage]") {
  const humpty::Layer layer = test::random_layer(16, 8, 3);
  CHECK(humpty::stored_mantissa_bits(layer) == 23);
  humpty::Layer half = layer, brain = layer;
  for (float& v : half.weight) v = to_float16(v);
  for (float& v : half.bias) v = to_float16(v);
  CHECK(humpty::stored_mantissa_bits(half) == 10);
  for (float& v : brain.weight) v = to_bfloat16(v);
  for (float& v : brain.bias) v = to_bfloat16(v);
  CHECK(humpty::stored_mantissa_bits(brain) == 7);
  // One float32 value left is enough to make it float32.
  half.weight[5] = layer.weight[5];
  CHECK(humpty::stored_mantissa_bits(half) == 23);
  // A float16 value beyond its range (65504) is not one.
  brain.weight.assign(brain.weight.size(), 0.0f);
  for (std::size_t i = 0; i < 40; ++i) brain.weight[i] = 65536.0f * float(i + 1);
  CHECK(humpty::stored_mantissa_bits(brain) == 7);  // multiples of 2^16 are bfloat16s
  // Zeros, or a few round values, tell nothing: such a layer counts as float32.
  humpty::Layer zero = layer;
  zero.weight.assign(zero.weight.size(), 0.0f);
  zero.bias.assign(zero.bias.size(), 0.5f);
  CHECK(humpty::stored_mantissa_bits(zero) == 23);
}

TEST_CASE("storage: float16 pieces are proven within what their rounding explains", "[storage]") {
  const humpty::GeneratedPuzzle& g = test::generated(12, 12, 24, 1000, 30, 6);
  humpty::Puzzle half;
  const humpty::Fit fit = rounded_fit(g, to_float16, 10, half);
  CHECK(fit.mse_pred < fit.tolerance / 4);  // the level's margin is 16 times its estimate
  CHECK(fit.proves());
  // A wrong assembly is far outside it.
  humpty::Assembly wrong = g.answer;
  std::swap(wrong.blocks[3], wrong.blocks[4]);
  auto misfit = humpty::evaluate(half, wrong, g.data, 2);
  REQUIRE(misfit.ok());
  CHECK(misfit->mse_pred > 10 * misfit->tolerance);
  // The level is the same for any number of threads.
  humpty::ThreadPool one(1), two(2);
  const humpty::StorageLevel a = humpty::storage_level(half, g.answer, g.data, one);
  const humpty::StorageLevel b = humpty::storage_level(half, g.answer, g.data, two);
  CHECK(a.bits == 10);
  CHECK(a.mse == b.mse);
  // The search finds it from the data and stops there, proven.
  humpty::SolveOptions options;
  options.order = humpty::OrderMethod::search;
  options.search.threads = 2;
  auto report = humpty::solve(half, &g.data, options);
  REQUIRE(report.ok());
  CHECK(report->assembly == g.answer);
  CHECK(report->fit.proves());
  CHECK(report->search.stopped == humpty::StopReason::exact);
  // The same through files and the command line: inspect says so, solve proves it and says how.
  const std::string dir = test::scratch_dir("storage-f16");
  test::write_pieces(half, dir + "/pieces");
  test::write_csv(g.data, dir + "/data.csv");
  CHECK(test::run_cli("inspect " + dir + "/pieces").out.find("stored at half precision (float16)") !=
        std::string::npos);
  auto solved =
      test::run_cli("solve " + dir + "/pieces --data " + dir + "/data.csv --json " + dir + "/r.json");
  CHECK(solved.exit_code == 0);
  CHECK(solved.out == humpty::format_answer(g.answer) + "\n");
  CHECK(solved.err.find("(exact at float16 storage level") != std::string::npos);
  auto json = test::read_bytes(dir + "/r.json");
  const std::string text(json.begin(), json.end());
  CHECK(text.find("\"verdict\":\"proven: the assembly reproduces pred within what storing the weights as "
                  "float16 explains on every row\"") != std::string::npos);
  CHECK(text.find("\"stored_as\":\"float16\"") != std::string::npos);
}

TEST_CASE("storage: half-precision weights that ran as they are stay proven at float rounding", "[storage]") {
  const humpty::GeneratedPuzzle& g = test::generated(6, 8, 16, 500, 10, 4);
  humpty::Puzzle brain;
  rounded_fit(g, to_bfloat16, 7, brain);  // against the float32 network's pred the level is needed
  // pred computed from the rounded weights themselves: the stronger claim holds, nothing widened.
  humpty::Dataset data = g.data;
  humpty::ThreadPool pool(1);
  const std::vector<float> own = humpty::network_outputs(humpty::pack_puzzle(brain), g.answer, data, pool);
  data.pred.assign(own.begin(), own.end());
  auto fit = humpty::evaluate(brain, g.answer, data, 1);
  REQUIRE(fit.ok());
  CHECK(fit->exact());
  CHECK(fit->stored_bits == 23);
  CHECK(fit->tolerance == humpty::rounding_tolerance(data));
}

TEST_CASE("storage: the published puzzle saved as float16 and as bfloat16 is still proven",
          "[storage][published][heavy]") {
  for (float (*round)(float) : {to_float16, to_bfloat16}) {
    const humpty::Puzzle half = rounded(test::published_puzzle(), round);
    humpty::SolveOptions options;
    options.order = humpty::OrderMethod::search;
    options.search.threads = 2;
    auto report = humpty::solve(half, &test::published_data(), options);
    REQUIRE(report.ok());
    CHECK(report->sha256 == test::kPublishedSha256);
    CHECK(report->fit.stored_bits == (round == to_float16 ? 10 : 7));
    CHECK(report->fit.proves());
  }
}
