// storage.hpp - pieces stored at less than float32 precision (float16, bfloat16): how much of a
// misfit against pred the rounding of their weights can explain (storage.cpp).
#pragma once

#include <cstddef>

#include "humpty/fit.hpp"
#include "humpty/model.hpp"
#include "parallel.hpp"

namespace humpty {

// What rounding to the stored precision explains, at one assembly.
struct StorageLevel {
  int bits = 23;        // stored_mantissa_bits(puzzle)
  double mse = 0;       // the MSE of output 0 that it explains (0 when bits == 23)
  double mse_rest = 0;  // the same for outputs 1.. (all of them together)
};

// The level at `assembly` (a valid one): the mean, over kStorageDraws draws of the rounding error
// (each stored value moved uniformly within half its spacing in its format, from a fixed seed),
// of the MSE between the network's outputs and the moved network's, times kStorageMargin. The
// weights that made pred differ from the stored ones by one such draw; over many weights its
// MSE is close to the mean, so the margin leaves room and a wrong assembly, which misses pred by
// a share of its spread, stays far above. Deterministic for any pool size.
StorageLevel storage_level(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data,
                           ThreadPool& pool);

constexpr int kStorageDraws = 4;
constexpr double kStorageMargin = 16;

// A fit of `assembly` that misses pred by more than float rounding, with pieces stored at half
// precision: its tolerances widened by storage_level there, rows_needed recomputed for them and
// stored_bits set. A fit at float rounding stays as it is (the stronger claim: the half-precision
// weights are what ran), and so does one of float32 pieces.
void allow_for_storage(Fit& fit, const Puzzle& puzzle, const Assembly& assembly, const Dataset& data,
                       ThreadPool& pool);

}  // namespace humpty
