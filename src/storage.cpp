// Pieces stored at half precision. A network saved with `.half()` or as bfloat16 safetensors after
// pred was computed cannot reproduce pred at float32 rounding, whatever the assembly: its
// weights moved when they were rounded. The right assembly still fits far better than any other;
// this says how much better it must fit, from the stored precision alone.
#include "storage.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "network.hpp"
#include "rng.hpp"

namespace humpty {
namespace {

// Whether v is a bfloat16: its low 16 bits are zero.
bool is_bfloat16(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0xffffu) == 0;
}

// Whether v is a float16 (finite, |v| <= 65504, and a multiple of its spacing there).
bool is_float16(float v) {
  if (v == 0) return true;
  const double a = std::fabs(double(v));
  if (!(a <= 65504.0)) return false;
  const int e = std::max(std::ilogb(a), -14);   // below 2^-14 the float16 spacing stays 2^-24
  const double scaled = std::ldexp(a, 10 - e);  // the value in units of its spacing
  return scaled == std::floor(scaled);
}

// Whether every value passes `test`, with enough nonzero ones that a float32 layer could not pass
// by chance (a zero or hand-set layer of 0.5s tells nothing about how it was stored).
template <class Test>
bool all_values(const Layer& layer, Test test) {
  std::size_t nonzero = 0;
  for (const std::vector<float>* values : {&layer.weight, &layer.bias}) {
    for (float v : *values) {
      if (!test(v)) return false;
      nonzero += v != 0;
    }
  }
  return nonzero >= 32;
}

// The spacing of format (bits, lowest normal exponent) at v.
double spacing(double v, int bits, int min_exponent) {
  if (v == 0) return 0;  // a zero is stored exactly
  return std::ldexp(1.0, std::max(std::ilogb(v), min_exponent) - bits);
}

// Every output of the network (output 0 in `first`, the others in `rest`).
void outputs_of(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, ThreadPool& pool,
                std::vector<float>& first, std::vector<float>& rest) {
  const PackedPuzzle net = pack_puzzle(puzzle);
  if (puzzle.outputs > 1) {
    every_output(net, puzzle.pieces[std::size_t(puzzle.last_piece)], assembly, data, pool, first, rest);
  } else {
    first = network_outputs(net, assembly, data, pool);
    rest.clear();
  }
}

double mean_square_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty()) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return sum / double(a.size());
}

}  // namespace

int stored_mantissa_bits(const Layer& layer) {
  if (all_values(layer, is_bfloat16)) return 7;
  if (all_values(layer, is_float16)) return 10;
  return 23;
}

int stored_mantissa_bits(const Puzzle& puzzle) {
  int bits = 23;
  for (const Layer& layer : puzzle.pieces) bits = std::min(bits, stored_mantissa_bits(layer));
  return bits;
}

StorageLevel storage_level(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data,
                           ThreadPool& pool) {
  StorageLevel level;
  std::vector<int> bits(puzzle.pieces.size());
  for (std::size_t k = 0; k < bits.size(); ++k) {
    bits[k] = stored_mantissa_bits(puzzle.pieces[k]);
    level.bits = std::min(level.bits, bits[k]);
  }
  if (level.bits == 23 || data.rows == 0) return level;
  std::vector<float> first, rest, moved_first, moved_rest;
  outputs_of(puzzle, assembly, data, pool, first, rest);
  for (int draw = 0; draw < kStorageDraws; ++draw) {
    // A fixed stream, not --seed: the verdict must not depend on the search's seed.
    Rng rng(stream_seed(0x5707A6E, std::uint64_t(draw)));
    Puzzle moved = puzzle;
    for (std::size_t k = 0; k < bits.size(); ++k) {
      if (bits[k] == 23) continue;
      const int min_exponent = bits[k] == 7 ? -126 : -14;
      auto move = [&](float& v) {
        v = float(double(v) + (rng.uniform() - 0.5) * spacing(std::fabs(double(v)), bits[k], min_exponent));
      };
      for (float& v : moved.pieces[k].weight) move(v);
      if (moved.pieces[k].has_bias)
        for (float& v : moved.pieces[k].bias) move(v);
    }
    outputs_of(moved, assembly, data, pool, moved_first, moved_rest);
    level.mse += mean_square_difference(first, moved_first) / kStorageDraws;
    level.mse_rest += mean_square_difference(rest, moved_rest) / kStorageDraws;
  }
  level.mse *= kStorageMargin;
  level.mse_rest *= kStorageMargin;
  return level;
}

void allow_for_storage(Fit& fit, const Puzzle& puzzle, const Assembly& assembly, const Dataset& data,
                       ThreadPool& pool) {
  if (fit.exact() || stored_mantissa_bits(puzzle) == 23) return;
  const StorageLevel level = storage_level(puzzle, assembly, data, pool);
  fit.stored_bits = level.bits;
  fit.tolerance += level.mse;
  if (fit.mse_rest >= 0) fit.tolerance_rest += level.mse_rest;
  fit.rows_needed = rows_to_prove(assembly.blocks.size(), data, fit.tolerance);
}

}  // namespace humpty
