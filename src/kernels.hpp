// kernels.hpp - the dense products every evaluation goes through.
//
// Why this shape: a forward pass is, per block, hidden = relu(x W_in^T + b_in) then
// x += hidden W_out^T + b_out, over thousands of rows. The kernel keeps a tile of rows x 16 output
// columns in registers and walks the inner dimension once, reading weights from "panels" (W^T cut
// into 16-column strips, each contiguous) so that every load is sequential. The second product
// of a block reads ReLU outputs, mostly zeros, so it has its own kernel that multiplies only the
// nonzero inputs of each row (masked_add_rows).
//
// Determinism: each output element is bias + x_0 w_0 + x_1 w_1 + ... summed in that order, one
// rounded multiply and one rounded add per term (the build uses -ffp-contract=off, so no fused
// multiply-add). Vector width only decides how many columns are done at once, never the order of
// a sum, so the AVX2 and the generic kernels give bit-identical results.
#pragma once

#include <cstddef>
#include <vector>

#include "humpty/model.hpp"

namespace humpty {

// Output columns of every packed matrix and of every stream buffer are padded to a multiple of
// this; the padding columns hold zeros and stay zero through a block.
constexpr std::size_t kPanel = 16;
inline std::size_t pad_to_panel(std::size_t n) {
  return (n + kPanel - 1) / kPanel * kPanel;
}

struct PackedLinear {
  std::size_t in = 0;          // K, the input width
  std::size_t out = 0;         // J, the output width
  std::size_t out_padded = 0;  // J rounded up to kPanel
  std::vector<float> panels;   // out_padded / kPanel panels, each in x kPanel, row-major
  std::vector<float> bias;     // out_padded, zeros past `out`
};

// The same layout in memory the caller owns (the pairing keeps its packed matrices in one arena
// already faulted in: a fresh megabyte costs more to fault in than to pack). Not owning.
struct PanelView {
  const float* panels = nullptr;  // out_padded / kPanel panels of in x kPanel
  const float* bias = nullptr;    // out_padded values
  std::size_t in = 0, out = 0, out_padded = 0;
};
inline PanelView view_of(const PackedLinear& packed) {
  return {packed.panels.data(), packed.bias.data(), packed.in, packed.out, packed.out_padded};
}

PackedLinear pack_linear(const Layer& layer);

// Packs `count` weight rows of `width` values (rows `stride` floats apart) with a zero bias: the
// layer whose outputs are the dot products of an input row with each of these rows.
PackedLinear pack_rows(const float* rows, std::size_t count, std::size_t width, std::size_t stride);

// pack_rows into `panels` (pad_to_panel(count) * width floats, padding rows written as zeros), the
// rows given one pointer each.
void pack_rows_into(float* panels, const float* const* rows, std::size_t count, std::size_t width);

// Packs the transpose of a matrix m (rows x cols, rows `stride` floats apart) with a zero bias:
// the layer whose outputs are x m, the dot products of its input with the columns of m.
PackedLinear pack_columns(const float* m, std::size_t rows, std::size_t cols, std::size_t stride);

// pack_columns into `packed`, keeping its buffers' capacity: a loop that packs one matrix after
// another in a worker thread allocates nothing after its first pass (the trainer's gradients).
void pack_columns_into(PackedLinear& packed, const float* m, std::size_t rows, std::size_t cols,
                       std::size_t stride);

enum class Epilogue {
  store,  // y = b + x W^T
  relu,   // y = max(b + x W^T, 0)
};

// Applies a packed layer to `count` rows of x (rows x_stride floats apart, `in` values used) and
// writes `out_padded` columns to each row of y (rows y_stride floats apart). x and y must not overlap.
void linear_rows(const PackedLinear& layer, const float* x, std::size_t x_stride, std::size_t count, float* y,
                 std::size_t y_stride, Epilogue epilogue);
void linear_rows(const PanelView& layer, const float* x, std::size_t x_stride, std::size_t count, float* y,
                 std::size_t y_stride, Epilogue epilogue);

// The portable kernel, whatever the machine runs: the tests check that both give the same bits.
void linear_rows_generic(const PanelView& layer, const float* x, std::size_t x_stride, std::size_t count,
                         float* y, std::size_t y_stride, Epilogue epilogue);
inline void linear_rows_generic(const PackedLinear& layer, const float* x, std::size_t x_stride, std::size_t count,
                                float* y, std::size_t y_stride, Epilogue epilogue) {
  linear_rows_generic(view_of(layer), x, x_stride, count, y, y_stride, epilogue);
}

// y = y + (b + x W^T) for inputs that are mostly zeros (ReLU activations; every product humpty
// adds to a stream is one): each row multiplies only its nonzero inputs. The sum is
// b + x_0 w_0 + x_1 w_1 + ... in that order without the terms where x_k = 0, which add nothing
// (at most they would turn a -0 sum into +0), and the same bits on every kernel. A ReLU layer of
// the published network outputs four fifths zeros.
void masked_add_rows(const PackedLinear& layer, const float* x, std::size_t x_stride, const float* mask,
                     std::size_t mask_stride, std::size_t count, float* y, std::size_t y_stride);
inline void sparse_add_rows(const PackedLinear& layer, const float* x, std::size_t x_stride,
                            std::size_t count, float* y, std::size_t y_stride) {
  masked_add_rows(layer, x, x_stride, x, x_stride, count, y, y_stride);
}

// The same where only the inputs whose mask is not zero count (mask rows mask_stride apart;
// sparse_add_rows is x masked by itself). A gradient through a ReLU layer with outputs h is the
// incoming one where h != 0, so backward passes give h as the mask instead of zeroing first.
void masked_add_rows_generic(const PackedLinear& layer, const float* x, std::size_t x_stride,
                             const float* mask, std::size_t mask_stride, std::size_t count, float* y,
                             std::size_t y_stride);

// For each of `count` rows (`stride` floats apart; `width` used, a multiple of 8):
// out[r] = u_r . (a_r - b_r), as 8 partial sums (of the terms q with the same q % 8) added in
// lane order at the end, the same bits on every kernel.
void dot_differences(const float* u, const float* a, const float* b, std::size_t width, std::size_t count,
                     std::size_t stride, float* out);
void dot_differences_generic(const float* u, const float* a, const float* b, std::size_t width,
                             std::size_t count, std::size_t stride, float* out);

// One Adam or AdamW step (torch.optim's arithmetic) for n parameters, element by element:
// decoupled decay p -= (lr decay) p first, or L2 decay g += decay p; then m = beta1 m + (1 -
// beta1) g, v = beta2 v + ((1 - beta2) g) g, p -= (lr m / correction1) / (sqrt(v / correction2)
// + eps), each product and sum rounded on its own (no fused multiply-add), so every kernel gives
// the same bits. The trainer's: scalar, its divisions and square root took a quarter of a
// one-thread Adam run, and the compilers keep std::sqrt scalar (errno).
struct AdamStep {
  float lr = 0, decay = 0, beta1 = 0, beta2 = 0, eps = 0, correction1 = 1, correction2 = 1;
  bool decoupled = false;  // AdamW
};
void adam_update(const AdamStep& step, float* param, float* m, float* v, const float* grad, std::size_t n);
void adam_update_generic(const AdamStep& step, float* param, float* m, float* v, const float* grad,
                         std::size_t n);

// One residual block, x += out(relu(inp(x))), on `count` rows of x (stride = out.out_padded).
// `hidden` is scratch of count x inp.out_padded floats.
inline void run_block(const PackedLinear& inp, const PackedLinear& out, float* x, std::size_t count,
                      float* hidden) {
  linear_rows(inp, x, out.out_padded, count, hidden, inp.out_padded, Epilogue::relu);
  sparse_add_rows(out, hidden, inp.out_padded, count, x, out.out_padded);
}

// "avx2" or "generic": which kernel this machine runs.
const char* kernel_name();

}  // namespace humpty
