// humpty_peak - what one core of this machine can do, and how much of it the kernel gets.
//
// Prints for bench/run.sh:
//   peak_fma_gflops <G multiply-adds per second, fused, 256-bit, one core>
//   peak_muladd_gflops <the same with separate multiply and add, as humpty computes>
//   dense_gmacs <G multiply-adds per second of the dense kernel (a block's first product)>
//   relu_zero_fraction <of that product's outputs, on random inputs>
//   kernel_block_rows_per_s <residual-block evaluations x rows per second, one core>
// for a block of the given width (default d=48, h=96).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels.hpp"
#include "rng.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HUMPTY_X86 1
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

#ifdef HUMPTY_X86
// 12 independent chains of 8-lane operations, in named registers (an array would live in
// memory at -O2): enough chains to cover the latency of every unit.
#define HUMPTY_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define HUMPTY_DECLARE(i) __m256 a##i = _mm256_set1_ps(float(i));
#define HUMPTY_FMA(i) a##i = _mm256_fmadd_ps(a##i, mul, add);
#define HUMPTY_MULADD(i) a##i = _mm256_add_ps(_mm256_mul_ps(a##i, mul), add);
#define HUMPTY_SUM(i) sum = _mm256_add_ps(sum, a##i);

__attribute__((target("avx2,fma"), noinline)) float fma_loop(long steps, float m) {
  HUMPTY_CHAINS(HUMPTY_DECLARE)
  __m256 mul = _mm256_set1_ps(m), add = _mm256_set1_ps(1e-7f), sum = _mm256_setzero_ps();
  for (long s = 0; s < steps; ++s) {
    HUMPTY_CHAINS(HUMPTY_FMA)
  }
  HUMPTY_CHAINS(HUMPTY_SUM)
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
}

__attribute__((target("avx2"), noinline)) float muladd_loop(long steps, float m) {
  HUMPTY_CHAINS(HUMPTY_DECLARE)
  __m256 mul = _mm256_set1_ps(m), add = _mm256_set1_ps(1e-7f), sum = _mm256_setzero_ps();
  for (long s = 0; s < steps; ++s) {
    HUMPTY_CHAINS(HUMPTY_MULADD)
  }
  HUMPTY_CHAINS(HUMPTY_SUM)
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
}
#endif

// The best of several timed runs of `run(steps)`, as giga multiply-adds per second.
template <typename Run>
double best_rate(Run run, double madds_per_step) {
  long steps = 1 << 20;
  double best = 0;
  for (int trial = 0; trial < 7; ++trial) {
    auto start = Clock::now();
    volatile float sink = run(steps);
    (void)sink;
    double seconds = seconds_since(start);
    if (seconds < 0.05) {
      steps *= 2;
      --trial;
      continue;
    }
    best = std::max(best, double(steps) * madds_per_step / seconds / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t d = argc > 1 ? std::size_t(std::atoi(argv[1])) : 48;
  std::size_t h = argc > 2 ? std::size_t(std::atoi(argv[2])) : 96;
#ifdef HUMPTY_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    std::printf("peak_fma_gflops %.2f\n", best_rate([](long s) { return fma_loop(s, 0.999999f); }, 12 * 8));
    std::printf("peak_muladd_gflops %.2f\n",
                best_rate([](long s) { return muladd_loop(s, 0.999999f); }, 12 * 8));
  }
#endif
  // The kernels on a chunk of rows, again and again, on one core. Inputs differ from row to row,
  // so that each row's ReLU outputs have their own zeros, as in a real stream.
  humpty::Rng rng(1);
  auto layer = [&](std::size_t rows, std::size_t cols) {
    humpty::Layer l;
    l.rows = rows;
    l.cols = cols;
    for (std::size_t i = 0; i < rows * cols; ++i) l.weight.push_back(float(rng.uniform() - 0.5) * 0.1f);
    l.bias.assign(rows, 0.01f);
    return l;
  };
  humpty::PackedLinear inp = humpty::pack_linear(layer(h, d)), out = humpty::pack_linear(layer(d, h));
  const std::size_t rows = 48;
  std::vector<float> x(rows * out.out_padded, 0.0f), hidden(rows * inp.out_padded);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t k = 0; k < d; ++k) x[r * out.out_padded + k] = float(rng.uniform() * 2 - 1);
  }
  // The dense product alone (inp, d -> h): every multiply-add is done, so this is the kernel's
  // share of the machine.
  double dense = best_rate(
      [&](long steps) {
        for (long s = 0; s < steps; ++s) {
          humpty::linear_rows(inp, x.data(), out.out_padded, rows, hidden.data(), inp.out_padded,
                              humpty::Epilogue::relu);
        }
        return hidden[0];
      },
      double(rows * d * h));
  std::size_t zeros = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < h; ++j) zeros += hidden[r * inp.out_padded + j] == 0.0f;
  }
  // A whole block: the dense product, then the sparse one over the nonzero ReLU outputs. The
  // stream is put back before each pass so that it does not drift.
  const std::vector<float> start = x;
  double blocks = best_rate(
      [&](long steps) {
        for (long s = 0; s < steps; ++s) {
          humpty::run_block(inp, out, x.data(), rows, hidden.data());
          std::copy(start.begin(), start.end(), x.begin());
        }
        return x[0];
      },
      double(rows));
  std::printf("kernel %s\n", humpty::kernel_name());
  std::printf("dense_gmacs %.2f\n", dense);
  std::printf("relu_zero_fraction %.3f\n", double(zeros) / double(rows * h));
  std::printf("kernel_block_rows_per_s %.0f\n", blocks * 1e9);
  return 0;
}
