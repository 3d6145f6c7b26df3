#include <cmath>
#include <cstring>
#include <tuple>

#include "catch.hpp"
#include "kernels.hpp"
#include "support.hpp"

namespace {

// y = epilogue(b + x W^T), one element at a time in the documented order.
std::vector<float> naive(const humpty::Layer& layer, const std::vector<float>& x, std::size_t count,
                         humpty::Epilogue epilogue) {
  std::vector<float> y(count * layer.rows);
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t j = 0; j < layer.rows; ++j) {
      float acc = layer.bias[j];
      for (std::size_t k = 0; k < layer.cols; ++k)
        acc += x[r * layer.cols + k] * layer.weight[j * layer.cols + k];
      if (epilogue == humpty::Epilogue::relu) acc = acc > 0 ? acc : 0.0f;
      y[r * layer.rows + j] = acc;
    }
  }
  return y;
}

// The kernels' outputs for a layer of `rows` outputs over `cols` inputs on `count` input rows,
// y starting as `start` (count x rows) in rows of `stride` floats.
template <typename Kernel>
std::vector<float> run_kernel(Kernel kernel, std::size_t rows, std::size_t count, std::size_t stride,
                              const std::vector<float>& start) {
  std::vector<float> y(count * stride, 0.0f);
  for (std::size_t r = 0; r < count; ++r) std::memcpy(&y[r * stride], &start[r * rows], rows * sizeof(float));
  kernel(y.data());
  return y;
}

const std::tuple<std::size_t, std::size_t, std::size_t> kShapes[] = {
    {1, 1, 1}, {5, 3, 7}, {16, 48, 13}, {96, 48, 48}, {48, 96, 50}, {33, 17, 101}, {64, 9, 5}};

// masked_add_rows on both kernels, from `start` (count x layer.rows): each must give
// start + (b + x W^T) for x = `counted`, the inputs as the dense sum sees them (zero where they do
// not count), and both the same bits.
void check_masked_add(const humpty::Layer& layer, const std::vector<float>& inputs,
                      const std::vector<float>& mask, const std::vector<float>& counted,
                      const std::vector<float>& start, std::size_t count) {
  const std::size_t rows = layer.rows, cols = layer.cols;
  humpty::PackedLinear packed = humpty::pack_linear(layer);
  const std::size_t stride = packed.out_padded;
  std::vector<float> expected = naive(layer, counted, count, humpty::Epilogue::store);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = start[i] + expected[i];
  std::vector<float> results[2];
  for (bool generic : {false, true}) {
    results[generic] = run_kernel(
        [&](float* out) {
          (generic ? humpty::masked_add_rows_generic : humpty::masked_add_rows)(
              packed, inputs.data(), cols, mask.data(), cols, count, out, stride);
        },
        rows, count, stride, start);
    for (std::size_t r = 0; r < count; ++r) {
      for (std::size_t j = 0; j < rows; ++j) {
        INFO("shape " << rows << "x" << cols << " rows " << count << " generic " << generic);
        REQUIRE(results[generic][r * stride + j] == expected[r * rows + j]);
      }
    }
  }
  REQUIRE(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
}

// On a machine without AVX2 the "fast" kernel is the generic one: the comparisons of the two then
// compare the generic kernel with itself and cannot fail. Said, not hidden.
void note_kernel_comparison() {
  if (std::string(humpty::kernel_name()) != "avx2") {
    WARN("SKIPPED: this machine has no AVX2; the AVX2-vs-generic comparison ran the generic kernel twice "
         "(the checks against the naive sum still ran)");
  }
}

}  // namespace

TEST_CASE("panels packed into the caller's memory give the packed layer's bits", "[kernels]") {
  // The pairing packs its matrices into one arena of its own (pairing.cpp): the view must lay the
  // weights out exactly as pack_rows does, padding rows zero, whatever the row count.
  for (std::size_t rows : {std::size_t(1), std::size_t(16), std::size_t(21), std::size_t(48)}) {
    const std::size_t cols = 37, count = 9;
    humpty::Layer layer = test::random_layer(rows, cols, rows + 5);
    humpty::Layer inputs = test::random_layer(count, cols, rows + 11, 2.0f);
    humpty::PackedLinear packed = humpty::pack_rows(layer.weight.data(), rows, cols, cols);
    std::vector<const float*> pointers;
    for (std::size_t j = 0; j < rows; ++j) pointers.push_back(layer.weight.data() + j * cols);
    std::vector<float> panels(humpty::pad_to_panel(rows) * cols, -1.0f), zeros(humpty::pad_to_panel(rows), 0.0f);
    humpty::pack_rows_into(panels.data(), pointers.data(), rows, cols);
    REQUIRE(panels == packed.panels);
    const humpty::PanelView view{panels.data(), zeros.data(), cols, rows, humpty::pad_to_panel(rows)};
    const std::size_t stride = packed.out_padded;
    std::vector<float> from_packed(count * stride), from_view(count * stride, 7.0f), generic(count * stride, 7.0f);
    humpty::linear_rows(packed, inputs.weight.data(), cols, count, from_packed.data(), stride,
                        humpty::Epilogue::store);
    humpty::linear_rows(view, inputs.weight.data(), cols, count, from_view.data(), stride, humpty::Epilogue::store);
    humpty::linear_rows_generic(view, inputs.weight.data(), cols, count, generic.data(), stride,
                                humpty::Epilogue::store);
    CHECK(from_view == from_packed);
    CHECK(generic == from_packed);
  }
}

TEST_CASE("a transpose packed into a reused layer is the freshly packed one", "[kernels]") {
  // One layer reused for every shape, larger and smaller in turn, as the trainer's workers do:
  // what an earlier, larger pack left behind must not show.
  humpty::PackedLinear reused;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& shape : kShapes) {
      const std::size_t rows = std::get<0>(shape), cols = std::get<1>(shape);
      humpty::Layer m = test::random_layer(rows, cols + 3, rows * 31 + cols + std::size_t(pass), 1.5f);
      const humpty::PackedLinear fresh = humpty::pack_columns(m.weight.data(), rows, cols, cols + 3);
      humpty::pack_columns_into(reused, m.weight.data(), rows, cols, cols + 3);
      CHECK(reused.in == fresh.in);
      CHECK(reused.out == fresh.out);
      CHECK(reused.out_padded == fresh.out_padded);
      CHECK(reused.panels == fresh.panels);
      CHECK(reused.bias == fresh.bias);
    }
  }
}

TEST_CASE("the packed kernel equals the naive sum bit for bit, on every kernel", "[kernels]") {
  note_kernel_comparison();
  using humpty::Epilogue;
  for (const auto& shape : kShapes) {
    // Named copies, not structured bindings: C++17 lambdas cannot capture those.
    const std::size_t rows = std::get<0>(shape), cols = std::get<1>(shape), count = std::get<2>(shape);
    humpty::Layer layer = test::random_layer(rows, cols, rows * 1000 + cols);
    humpty::Layer inputs = test::random_layer(count, cols, count + 7, 2.0f);
    humpty::PackedLinear packed = humpty::pack_linear(layer);
    const std::size_t stride = packed.out_padded;
    const std::vector<float> zeros(count * rows, 0.0f);
    for (Epilogue epilogue : {Epilogue::store, Epilogue::relu}) {
      std::vector<float> expected = naive(layer, inputs.weight, count, epilogue);
      for (bool generic : {false, true}) {
        std::vector<float> y = run_kernel(
            [&](float* out) {
              if (generic) {
                humpty::linear_rows_generic(packed, inputs.weight.data(), cols, count, out, stride, epilogue);
              } else {
                humpty::linear_rows(packed, inputs.weight.data(), cols, count, out, stride, epilogue);
              }
            },
            rows, count, stride, zeros);
        for (std::size_t r = 0; r < count; ++r) {
          for (std::size_t j = 0; j < rows; ++j) {
            INFO("shape " << rows << "x" << cols << " rows " << count << " generic " << generic);
            REQUIRE(y[r * stride + j] == expected[r * rows + j]);
          }
          // Padding columns stay zero (the stream relies on it).
          for (std::size_t j = rows; j < stride; ++j) REQUIRE(y[r * stride + j] == 0.0f);
        }
      }
    }
  }
  CHECK((std::string(humpty::kernel_name()) == "avx2" || std::string(humpty::kernel_name()) == "generic"));
}

TEST_CASE("the sparse kernel adds the naive sum, skipping zero inputs, the same bits on every kernel",
          "[kernels]") {
  note_kernel_comparison();
  for (const auto& [rows, cols, count] : kShapes) {
    humpty::Layer layer = test::random_layer(rows, cols, rows * 1000 + cols);
    humpty::Layer inputs = test::random_layer(count, cols, count + 7, 2.0f);
    humpty::Layer start = test::random_layer(count, rows, count + 9, 1.0f);
    // Mostly zeros, as after a ReLU, with some -0, and a row with no nonzero input at all. The
    // inputs are their own mask; the zero terms the dense sum has and the kernel skips add nothing.
    for (std::size_t k = 0; k < inputs.weight.size(); ++k) {
      float& v = inputs.weight[k];
      if (k / cols == count / 2 || v < 0.6f) v = k % 3 == 0 ? -0.0f : 0.0f;
    }
    check_masked_add(layer, inputs.weight, inputs.weight, inputs.weight, start.weight, count);
  }
}

TEST_CASE("the masked kernel counts only the inputs whose mask is not zero", "[kernels]") {
  note_kernel_comparison();
  for (const auto& [rows, cols, count] : kShapes) {
    humpty::Layer layer = test::random_layer(rows, cols, rows * 1000 + cols);
    humpty::Layer inputs = test::random_layer(count, cols, count + 7, 2.0f);
    humpty::Layer mask = test::random_layer(count, cols, count + 11, 1.0f);
    humpty::Layer start = test::random_layer(count, rows, count + 9, 1.0f);
    // The mask as a ReLU output: zero where negative. Masked inputs as the dense sum sees them.
    std::vector<float> counted = inputs.weight;
    for (std::size_t k = 0; k < mask.weight.size(); ++k) {
      if (mask.weight[k] < 0.3f) mask.weight[k] = 0.0f;
      if (mask.weight[k] == 0.0f) counted[k] = 0.0f;
    }
    check_masked_add(layer, inputs.weight, mask.weight, counted, start.weight, count);
  }
}

TEST_CASE("dot products of differences: 8 partial sums in lane order, the same bits on every kernel",
          "[kernels]") {
  note_kernel_comparison();
  for (std::size_t width : {8, 16, 48, 64}) {
    const std::size_t count = 13, stride = width + 16;
    humpty::Layer u = test::random_layer(count, stride, width + 1, 1.0f);
    humpty::Layer a = test::random_layer(count, stride, width + 2, 3.0f);
    humpty::Layer b = test::random_layer(count, stride, width + 3, 3.0f);
    std::vector<float> fast(count), generic(count);
    humpty::dot_differences(u.weight.data(), a.weight.data(), b.weight.data(), width, count, stride,
                            fast.data());
    humpty::dot_differences_generic(u.weight.data(), a.weight.data(), b.weight.data(), width, count, stride,
                                    generic.data());
    for (std::size_t r = 0; r < count; ++r) {
      // The documented order, written out.
      float lanes[8] = {};
      for (std::size_t q = 0; q < width; ++q) {
        const std::size_t at = r * stride + q;
        lanes[q % 8] += u.weight[at] * (a.weight[at] - b.weight[at]);
      }
      float expected = 0;
      for (float lane : lanes) expected += lane;
      INFO("width " << width << " row " << r);
      REQUIRE(fast[r] == expected);
      REQUIRE(generic[r] == expected);
    }
  }
}

TEST_CASE("an Adam step: torch.optim's arithmetic in the documented order, the same bits on every kernel",
          "[kernels]") {
  note_kernel_comparison();
  const std::size_t n = 37;  // four groups of eight and a tail
  const humpty::Layer start = test::random_layer(4, n, 71, 1.0f);
  const float* draws = start.weight.data();  // param, m, v (made non-negative) and grad, n each
  for (int mode = 0; mode < 3; ++mode) {     // no decay, L2, decoupled
    humpty::AdamStep step{0.01f, mode == 0 ? 0.0f : 0.05f, 0.9f, 0.999f, 1e-8f, 0.271f, 0.00599f, mode == 2};
    std::vector<float> p(draws, draws + n), m(draws + n, draws + 2 * n), v(draws + 2 * n, draws + 3 * n);
    const std::vector<float> g(draws + 3 * n, draws + 4 * n);
    // Moments as at the first step (zero) for half the parameters, where the new terms decide
    // every bit, and small for the rest; zeros among the parameters too.
    for (std::size_t i = 0; i < n; ++i) {
      v[i] = i % 2 ? 1e-4f * v[i] * v[i] : 0.0f;
      m[i] = i % 2 ? 1e-2f * m[i] : 0.0f;
    }
    p[3] = 0.0f;
    m[5] = -0.0f;
    std::vector<float> fast_p = p, fast_m = m, fast_v = v, generic_p = p, generic_m = m, generic_v = v;
    humpty::adam_update(step, fast_p.data(), fast_m.data(), fast_v.data(), g.data(), n);
    humpty::adam_update_generic(step, generic_p.data(), generic_m.data(), generic_v.data(), g.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      // The documented order, written out.
      float grad = g[i], param = p[i];
      if (mode == 1) grad += step.decay * param;
      if (mode == 2) param -= (step.lr * step.decay) * param;
      const float mm = step.beta1 * m[i] + (1 - step.beta1) * grad;
      const float vv = step.beta2 * v[i] + ((1 - step.beta2) * grad) * grad;
      param -= (step.lr * (mm / step.correction1)) / (std::sqrt(vv / step.correction2) + step.eps);
      INFO("mode " << mode << " parameter " << i);
      REQUIRE(std::memcmp(&fast_p[i], &param, sizeof param) == 0);
      REQUIRE(std::memcmp(&generic_p[i], &param, sizeof param) == 0);
      REQUIRE(std::memcmp(&fast_m[i], &mm, sizeof mm) == 0);
      REQUIRE(std::memcmp(&generic_m[i], &mm, sizeof mm) == 0);
      REQUIRE(std::memcmp(&fast_v[i], &vv, sizeof vv) == 0);
      REQUIRE(std::memcmp(&generic_v[i], &vv, sizeof vv) == 0);
    }
    CHECK(fast_p != p);  // the step moved the parameters
  }
}
