#include "kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace humpty {

namespace {

// A layer of `outputs` outputs over `inputs` inputs whose weight for output j and input k is
// weight(j, k), with a zero bias. Panel by panel, each panel written sequentially while its 16
// outputs are read side by side: writing one output at a time would touch a new cache line with
// every value.
template <typename Weight>
void pack_panels(float* panels, std::size_t outputs, std::size_t inputs, Weight weight) {
  for (std::size_t p = 0; p < pad_to_panel(outputs) / kPanel; ++p) {
    float* panel = panels + p * inputs * kPanel;
    const std::size_t first = p * kPanel, here = std::min(kPanel, outputs - first);
    if (here == kPanel) {
      // A whole panel: a loop of fixed length without the test, which g++ -O2 vectorises where the
      // weights of one input lie side by side (pack_columns: a quarter of the trainer's time went
      // to this loop with the test in it).
      for (std::size_t k = 0; k < inputs; ++k) {
        float column[kPanel];  // a local copy: the compiler need not prove that panel and weights differ
        for (std::size_t j = 0; j < kPanel; ++j) column[j] = weight(first + j, k);
        std::memcpy(panel + k * kPanel, column, sizeof column);
      }
      continue;
    }
    for (std::size_t k = 0; k < inputs; ++k) {
      for (std::size_t j = 0; j < kPanel; ++j) panel[k * kPanel + j] = j < here ? weight(first + j, k) : 0.0f;
    }
  }
}

// Into `packed`, reusing its buffers (resize and assign keep capacity).
template <typename Weight>
void pack_with(PackedLinear& packed, std::size_t outputs, std::size_t inputs, Weight weight) {
  packed.in = inputs;
  packed.out = outputs;
  packed.out_padded = pad_to_panel(outputs);
  packed.panels.resize(packed.out_padded * inputs);
  packed.bias.assign(packed.out_padded, 0.0f);
  pack_panels(packed.panels.data(), outputs, inputs, weight);
}

}  // namespace

PackedLinear pack_rows(const float* rows, std::size_t count, std::size_t width, std::size_t stride) {
  PackedLinear packed;
  pack_with(packed, count, width, [&](std::size_t j, std::size_t k) { return rows[j * stride + k]; });
  return packed;
}

void pack_rows_into(float* panels, const float* const* rows, std::size_t count, std::size_t width) {
  pack_panels(panels, count, width, [&](std::size_t j, std::size_t k) { return rows[j][k]; });
}

PackedLinear pack_columns(const float* m, std::size_t rows, std::size_t cols, std::size_t stride) {
  PackedLinear packed;
  pack_columns_into(packed, m, rows, cols, stride);
  return packed;
}

void pack_columns_into(PackedLinear& packed, const float* m, std::size_t rows, std::size_t cols,
                       std::size_t stride) {
  pack_with(packed, cols, rows, [&](std::size_t j, std::size_t k) { return m[k * stride + j]; });
}

PackedLinear pack_linear(const Layer& layer) {
  PackedLinear packed = pack_rows(layer.weight.data(), layer.rows, layer.cols, layer.cols);
  std::copy(layer.bias.begin(), layer.bias.end(), packed.bias.begin());
  return packed;
}

namespace {

#if defined(__GNUC__) || defined(__clang__)
#define HUMPTY_ALWAYS_INLINE __attribute__((always_inline)) inline
#define HUMPTY_LAMBDA_INLINE __attribute__((always_inline))
#else
#define HUMPTY_ALWAYS_INLINE inline
#define HUMPTY_LAMBDA_INLINE
#endif

typedef float Float4 __attribute__((vector_size(16)));
typedef float Float8 __attribute__((vector_size(32)));
typedef int Int4 __attribute__((vector_size(16)));
typedef int Int8 __attribute__((vector_size(32)));

template <typename V>
struct MaskOf;
template <>
struct MaskOf<Float4> {
  using type = Int4;
};
template <>
struct MaskOf<Float8> {
  using type = Int8;
};

// Calls f(0), f(1), ..., f(N-1) with compile-time indices: the tile loops must be fully unrolled
// for the accumulators to live in registers, and -O2 does not unroll them by itself.
template <typename F, int... I>
HUMPTY_ALWAYS_INLINE void unroll_each(F&& f, std::integer_sequence<int, I...>) {
  (f(std::integral_constant<int, I>{}), ...);
}
template <int N, typename F>
HUMPTY_ALWAYS_INLINE void unroll(F&& f) {
  unroll_each(f, std::make_integer_sequence<int, N>{});
}

// out = every lane *p. A shuffle of lane 0 becomes one vbroadcastss from memory; the plain
// V{} + s costs an extra add, and that extra micro-op per row and step is what limits the kernel.
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define HUMPTY_HAVE_SHUFFLEVECTOR 1
#endif
#endif
template <typename F, int... I>
HUMPTY_ALWAYS_INLINE void broadcast_lanes(F& out, const float* p, std::integer_sequence<int, I...>) {
#ifdef HUMPTY_HAVE_SHUFFLEVECTOR
  Float4 one = {*p, 0, 0, 0};
  out = __builtin_shufflevector(one, one, (I * 0)...);
#else
  out = F{} + *p;
#endif
}
template <typename V>
HUMPTY_ALWAYS_INLINE void broadcast(V& out, const float* p) {
  broadcast_lanes(out, p, std::make_integer_sequence<int, int(sizeof(V) / sizeof(float))>{});
}
// The AVX2 kernel's broadcast, written out: this template code is compiled for the default
// target, so GCC cannot see that the load and the broadcast fold into one vbroadcastss and emits
// three instructions per row and step (measured: 36 against 48 GMAC/s). Clang folds them itself
// (and refuses a 256-bit operand outside an AVX function).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
HUMPTY_ALWAYS_INLINE void broadcast(Float8& out, const float* p) {
  asm("vbroadcastss %1, %0" : "=x"(out) : "m"(*p));
}
#endif

// kRows rows x kPanel columns of one panel, kept in registers across the whole inner dimension.
template <typename V, int kRows>
HUMPTY_ALWAYS_INLINE void tile(const float* x, std::size_t x_stride, std::size_t in, const float* panel,
                               const float* bias, float* y, std::size_t y_stride, Epilogue epilogue) {
  constexpr int kLanes = int(sizeof(V) / sizeof(float));
  constexpr int kVectors = int(kPanel) / kLanes;
  V acc[kRows][kVectors];
  unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
    V b;
    std::memcpy(&b, bias + c * kLanes, sizeof b);
    unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE { acc[r][c] = b; });
  });
  for (std::size_t k = 0; k < in; ++k) {
    V w[kVectors];
    unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
      std::memcpy(&w[c], panel + k * kPanel + std::size_t(c * kLanes), sizeof(V));
    });
    unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE {
      V a;
      broadcast(a, x + std::size_t(r) * x_stride + k);
      unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE { acc[r][c] += a * w[c]; });
    });
  }
  unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE {
    float* out = y + std::size_t(r) * y_stride;
    unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
      V v = acc[r][c];
      if (epilogue == Epilogue::relu) {
        using Mask = typename MaskOf<V>::type;
        v = (V)((Mask)v & (Mask)(v > V{}));
      }
      std::memcpy(out + c * kLanes, &v, sizeof v);
    });
  });
}

// Rows [r, count) in tiles of kRows rows while they last, then of each smaller size in kSmaller.
template <typename V, int kRows, int... kSmaller>
HUMPTY_ALWAYS_INLINE void rows_body(const PanelView& layer, const float* x, std::size_t x_stride,
                                    std::size_t count, float* y, std::size_t y_stride, Epilogue epilogue,
                                    std::size_t r = 0) {
  const std::size_t panels = layer.out_padded / kPanel;
  for (; r + kRows <= count; r += kRows) {
    for (std::size_t p = 0; p < panels; ++p) {
      tile<V, kRows>(x + r * x_stride, x_stride, layer.in, layer.panels + p * layer.in * kPanel,
                     layer.bias + p * kPanel, y + r * y_stride + p * kPanel, y_stride, epilogue);
    }
  }
  if constexpr (sizeof...(kSmaller) > 0) {
    rows_body<V, kSmaller...>(layer, x, x_stride, count, y, y_stride, epilogue, r);
  }
}

// Sparse inputs. Row by row, the list of the inputs that count (mask not zero) is made first, then each
// step of the list adds x_k times row k of W^T to accumulators that hold kPanels panels of the
// row's outputs. Two rows go side by side for twice the independent sums (an add waits for the
// one before it in its sum); a step reads its weights for one row only, which costs more loads
// per multiply than a dense tile but skips every zero.

// The indices k in [first, in) with row[k] != 0, ascending, to out; returns how many. -0 counts
// as zero, NaN as not zero, as in the vector version below.
std::size_t nonzero_inputs_from(const float* row, std::size_t first, std::size_t in, std::uint32_t* out) {
  std::size_t n = 0;
  for (std::size_t k = first; k < in; ++k) {
    std::uint32_t bits;
    std::memcpy(&bits, row + k, sizeof bits);
    out[n] = std::uint32_t(k);
    n += (bits << 1) != 0;
  }
  return n;
}

// The same from 0, to out with room for in + 8 values (the vector version writes 8 at a time).
std::size_t nonzero_inputs(const float* row, std::size_t in, std::uint32_t* out) {
  return nonzero_inputs_from(row, 0, in, out);
}

using NonzeroInputs = std::size_t (*)(const float*, std::size_t, std::uint32_t*);

template <typename V, int kPanels, int kRows>
HUMPTY_ALWAYS_INLINE void sparse_tile(const float* panels, std::size_t panel_stride, const float* bias,
                                      const float* const* x, const std::uint32_t* const* list,
                                      const std::size_t* n, float* const* y) {
  constexpr int kLanes = int(sizeof(V) / sizeof(float));
  constexpr int kPerPanel = int(kPanel) / kLanes;
  constexpr int kVectors = kPerPanel * kPanels;
  V acc[kRows][kVectors];
  unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
    V b;
    std::memcpy(&b, bias + c * kLanes, sizeof b);
    unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE { acc[r][c] = b; });
  });
  auto step = [&](auto r, std::size_t k) HUMPTY_LAMBDA_INLINE {
    V a;
    broadcast(a, x[r] + k);
    unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
      V w;
      std::memcpy(&w,
                  panels + std::size_t(c / kPerPanel) * panel_stride + k * kPanel +
                      std::size_t(c % kPerPanel * kLanes),
                  sizeof w);
      acc[r][c] += a * w;
    });
  };
  std::size_t common = n[0];
  unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE { common = std::min(common, n[r]); });
  for (std::size_t i = 0; i < common; ++i) {
    unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE { step(r, list[r][i]); });
  }
  unroll<kRows>([&](auto r) HUMPTY_LAMBDA_INLINE {
    for (std::size_t i = common; i < n[r]; ++i) step(r, list[r][i]);
    unroll<kVectors>([&](auto c) HUMPTY_LAMBDA_INLINE {
      V old;
      std::memcpy(&old, y[r] + c * kLanes, sizeof old);
      V v = old + acc[r][c];
      std::memcpy(y[r] + c * kLanes, &v, sizeof v);
    });
  });
}

// kRows rows, every panel: kPanels at a time while they last, then one at a time.
template <typename V, int kPanels, int kRows>
HUMPTY_ALWAYS_INLINE void sparse_panels(const PackedLinear& layer, const float* const* x,
                                        const std::uint32_t* const* list, const std::size_t* n,
                                        float* const* y) {
  const std::size_t panels = layer.out_padded / kPanel, stride = layer.in * kPanel;
  auto run = [&](auto group, std::size_t p) HUMPTY_LAMBDA_INLINE {
    float* out[kRows];
    for (int r = 0; r < kRows; ++r) out[r] = y[r] + p * kPanel;
    sparse_tile<V, decltype(group)::value, kRows>(layer.panels.data() + p * stride, stride,
                                                  layer.bias.data() + p * kPanel, x, list, n, out);
  };
  std::size_t p = 0;
  for (; p + kPanels <= panels; p += kPanels) run(std::integral_constant<int, kPanels>{}, p);
  for (; p < panels; ++p) run(std::integral_constant<int, 1>{}, p);
}

template <typename V, int kPanels>
HUMPTY_ALWAYS_INLINE void sparse_body(const PackedLinear& layer, const float* x, std::size_t x_stride,
                                      const float* mask, std::size_t mask_stride, std::size_t count, float* y,
                                      std::size_t y_stride, NonzeroInputs nonzero) {
  thread_local std::vector<std::uint32_t> lists;
  const std::size_t list_stride = layer.in + 8;
  lists.resize(2 * list_stride);
  const std::uint32_t* list[2] = {lists.data(), lists.data() + list_stride};
  std::size_t r = 0;
  for (; r + 2 <= count; r += 2) {
    const float* rows[2] = {x + r * x_stride, x + (r + 1) * x_stride};
    const std::size_t n[2] = {nonzero(mask + r * mask_stride, layer.in, lists.data()),
                              nonzero(mask + (r + 1) * mask_stride, layer.in, lists.data() + list_stride)};
    float* out[2] = {y + r * y_stride, y + (r + 1) * y_stride};
    sparse_panels<V, kPanels, 2>(layer, rows, list, n, out);
  }
  if (r < count) {
    const float* rows[1] = {x + r * x_stride};
    const std::size_t n[1] = {nonzero(mask + r * mask_stride, layer.in, lists.data())};
    float* out[1] = {y + r * y_stride};
    sparse_panels<V, kPanels, 1>(layer, rows, list, n, out);
  }
}

// Dot products of differences, 8 lanes of partial sums whatever the vector width.
template <typename V>
HUMPTY_ALWAYS_INLINE void dot_body(const float* u, const float* a, const float* b, std::size_t width,
                                   std::size_t count, std::size_t stride, float* out) {
  constexpr int kLanes = int(sizeof(V) / sizeof(float));
  constexpr int kSums = 8 / kLanes;
  for (std::size_t r = 0; r < count; ++r) {
    V sums[kSums] = {};
    const std::size_t row = r * stride;
    for (std::size_t q = 0; q < width; q += 8) {
      unroll<kSums>([&](auto i) HUMPTY_LAMBDA_INLINE {
        const std::size_t at = row + q + std::size_t(i * kLanes);
        V x, y, w;
        std::memcpy(&x, a + at, sizeof x);
        std::memcpy(&y, b + at, sizeof y);
        std::memcpy(&w, u + at, sizeof w);
        sums[i] += w * (x - y);
      });
    }
    float lanes[8];
    std::memcpy(lanes, sums, sizeof lanes);
    float total = 0;
    for (float lane : lanes) total += lane;
    out[r] = total;
  }
}

using RowsKernel = void (*)(const PanelView&, const float*, std::size_t, std::size_t, float*, std::size_t,
                            Epilogue);

}  // namespace

// Baseline: 128-bit vectors (SSE2 on x86-64, NEON on arm64), 2 rows x 16 columns = 8 registers.
void linear_rows_generic(const PanelView& layer, const float* x, std::size_t x_stride, std::size_t count,
                         float* y, std::size_t y_stride, Epilogue epilogue) {
  rows_body<Float4, 2, 1>(layer, x, x_stride, count, y, y_stride, epilogue);
}

void dot_differences_generic(const float* u, const float* a, const float* b, std::size_t width,
                             std::size_t count, std::size_t stride, float* out) {
  dot_body<Float4>(u, a, b, width, count, stride, out);
}

void adam_update_generic(const AdamStep& step, float* param, float* m, float* v, const float* grad,
                         std::size_t n) {
  const float lr_decay = step.lr * step.decay, keep1 = 1 - step.beta1, keep2 = 1 - step.beta2;
  for (std::size_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (step.decay != 0) {
      if (step.decoupled) {
        param[i] -= lr_decay * param[i];
      } else {
        g += step.decay * param[i];
      }
    }
    m[i] = step.beta1 * m[i] + keep1 * g;
    v[i] = step.beta2 * v[i] + keep2 * g * g;
    const float m_hat = m[i] / step.correction1, v_hat = v[i] / step.correction2;
    param[i] -= step.lr * m_hat / (std::sqrt(v_hat) + step.eps);
  }
}

// 2 rows x 2 panels = 16 accumulators of 128 bits.
void masked_add_rows_generic(const PackedLinear& layer, const float* x, std::size_t x_stride,
                             const float* mask, std::size_t mask_stride, std::size_t count, float* y,
                             std::size_t y_stride) {
  sparse_body<Float4, 2>(layer, x, x_stride, mask, mask_stride, count, y, y_stride, nonzero_inputs);
}

namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HUMPTY_HAVE_AVX2_KERNEL 1
// 256-bit vectors, 6 rows x 16 columns = 12 of the 16 ymm registers (5% faster than 4 rows; the
// rows left over go 4 and then 1 at a time). Chosen at run time, so the default build stays
// portable to any x86-64 machine.
__attribute__((target("avx2"))) void rows_avx2(const PanelView& layer, const float* x,
                                               std::size_t x_stride, std::size_t count, float* y,
                                               std::size_t y_stride, Epilogue epilogue) {
  rows_body<Float8, 6, 4, 1>(layer, x, x_stride, count, y, y_stride, epilogue);
}

__attribute__((target("avx2"))) void dots_avx2(const float* u, const float* a, const float* b,
                                               std::size_t width, std::size_t count, std::size_t stride,
                                               float* out) {
  dot_body<Float8>(u, a, b, width, count, stride, out);
}

// For each 8-bit mask, the positions of its set bits, lowest first, one per byte.
struct SetBits {
  std::uint64_t positions[256];
  constexpr SetBits() : positions() {
    for (int mask = 0; mask < 256; ++mask) {
      int count = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (mask & (1 << bit)) positions[mask] |= std::uint64_t(bit) << (8 * count++);
      }
    }
  }
};
constexpr SetBits kSetBits;

// nonzero_inputs, 8 inputs at a time: compare, take the mask, write the positions of its bits
// (all 8 slots are written, the count moves on by the bits set). Branch-free: the scalar loop
// cost as much as the multiplications it saved.
__attribute__((target("avx2"))) std::size_t nonzero_inputs_avx2(const float* row, std::size_t in,
                                                                std::uint32_t* out) {
  std::size_t n = 0, k = 0;
  for (; k + 8 <= in; k += 8) {
    const int mask =
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + k), _mm256_setzero_ps(), _CMP_NEQ_UQ));
    const __m128i positions = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(&kSetBits.positions[mask]));
    const __m256i indices = _mm256_add_epi32(_mm256_cvtepu8_epi32(positions), _mm256_set1_epi32(int(k)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + n), indices);
    n += std::size_t(__builtin_popcount(unsigned(mask)));
  }
  return n + nonzero_inputs_from(row, k, in, out + n);
}

// 2 rows x 3 panels = 12 accumulators (48 columns: the published network's width).
__attribute__((target("avx2"))) void masked_avx2(const PackedLinear& layer, const float* x,
                                                 std::size_t x_stride, const float* mask,
                                                 std::size_t mask_stride, std::size_t count, float* y,
                                                 std::size_t y_stride) {
  sparse_body<Float8, 3>(layer, x, x_stride, mask, mask_stride, count, y, y_stride, nonzero_inputs_avx2);
}

// adam_update_generic eight parameters at a time (the rest through it).
__attribute__((target("avx2"))) void adam_avx2(const AdamStep& step, float* param, float* m, float* v,
                                               const float* grad, std::size_t n) {
  const __m256 lr = _mm256_set1_ps(step.lr), decay = _mm256_set1_ps(step.decay),
               lr_decay = _mm256_set1_ps(step.lr * step.decay), beta1 = _mm256_set1_ps(step.beta1),
               beta2 = _mm256_set1_ps(step.beta2), keep1 = _mm256_set1_ps(1 - step.beta1),
               keep2 = _mm256_set1_ps(1 - step.beta2), eps = _mm256_set1_ps(step.eps),
               correction1 = _mm256_set1_ps(step.correction1), correction2 = _mm256_set1_ps(step.correction2);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps(param + i), g = _mm256_loadu_ps(grad + i);
    if (step.decay != 0) {
      if (step.decoupled) {
        p = _mm256_sub_ps(p, _mm256_mul_ps(lr_decay, p));
      } else {
        g = _mm256_add_ps(g, _mm256_mul_ps(decay, p));
      }
    }
    const __m256 m8 = _mm256_add_ps(_mm256_mul_ps(beta1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(keep1, g));
    const __m256 v8 = _mm256_add_ps(_mm256_mul_ps(beta2, _mm256_loadu_ps(v + i)),
                                    _mm256_mul_ps(_mm256_mul_ps(keep2, g), g));
    const __m256 m_hat = _mm256_div_ps(m8, correction1), v_hat = _mm256_div_ps(v8, correction2);
    p = _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(lr, m_hat), _mm256_add_ps(_mm256_sqrt_ps(v_hat), eps)));
    _mm256_storeu_ps(m + i, m8);
    _mm256_storeu_ps(v + i, v8);
    _mm256_storeu_ps(param + i, p);
  }
  adam_update_generic(step, param + i, m + i, v + i, grad + i, n - i);
}
#endif

using MaskedKernel = void (*)(const PackedLinear&, const float*, std::size_t, const float*, std::size_t,
                              std::size_t, float*, std::size_t);

using DotKernel = void (*)(const float*, const float*, const float*, std::size_t, std::size_t, std::size_t,
                           float*);

using AdamKernel = void (*)(const AdamStep&, float*, float*, float*, const float*, std::size_t);

struct KernelChoice {
  RowsKernel rows;
  MaskedKernel masked;
  DotKernel dots;
  AdamKernel adam;
  const char* name;
};

KernelChoice choose_kernel() {
#ifdef HUMPTY_HAVE_AVX2_KERNEL
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return {rows_avx2, masked_avx2, dots_avx2, adam_avx2, "avx2"};
#endif
  return {linear_rows_generic, masked_add_rows_generic, dot_differences_generic, adam_update_generic,
          "generic"};
}

const KernelChoice& kernel() {
  static const KernelChoice choice = choose_kernel();
  return choice;
}

}  // namespace

void linear_rows(const PackedLinear& layer, const float* x, std::size_t x_stride, std::size_t count, float* y,
                 std::size_t y_stride, Epilogue epilogue) {
  kernel().rows(view_of(layer), x, x_stride, count, y, y_stride, epilogue);
}

void linear_rows(const PanelView& layer, const float* x, std::size_t x_stride, std::size_t count, float* y,
                 std::size_t y_stride, Epilogue epilogue) {
  kernel().rows(layer, x, x_stride, count, y, y_stride, epilogue);
}

void masked_add_rows(const PackedLinear& layer, const float* x, std::size_t x_stride, const float* mask,
                     std::size_t mask_stride, std::size_t count, float* y, std::size_t y_stride) {
  kernel().masked(layer, x, x_stride, mask, mask_stride, count, y, y_stride);
}

void dot_differences(const float* u, const float* a, const float* b, std::size_t width, std::size_t count,
                     std::size_t stride, float* out) {
  kernel().dots(u, a, b, width, count, stride, out);
}

void adam_update(const AdamStep& step, float* param, float* m, float* v, const float* grad, std::size_t n) {
  kernel().adam(step, param, m, v, grad, n);
}

const char* kernel_name() {
  return kernel().name;
}

}  // namespace humpty
