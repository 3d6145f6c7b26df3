// Relaxation: a global phase for the order, and for the pairs that are not sure (overview in
// search_engine.hpp).
//
// Why: far from the answer the error landscape over orders is a maze of basins. On briefly
// trained networks the descent from a shuffled order stalls at MSE/var ~0.3 with a rank
// correlation of ~0.3 with the true depths, and every single move from there is uphill. A soft
// order smooths the maze: each block b gets a real depth t_b, and the network runs over N slots,
// slot k adding sum_b a_kb f_b(x_k) to the stream, where a_kb is a Gaussian of width sigma around
// t_b normalised over the slots (each block is applied once in all). With sigma wide every block
// is spread over many slots (blocks run "in parallel"), and the depths that fit pred best say
// which blocks come early and which late; as sigma narrows the soft network becomes an ordinary
// one, and sorting the depths rounds it. The depths are trained with Adam on random batches of
// rows, the gradient computed by backpropagation through the slots. Measured on a 64-block
// network trained 40 epochs with Adam (given its pairs): from a shuffled order to rank correlation
// 0.86 and MSE/var 0.1, where the descent alone ends at 0.3.
//
// Cost: per row, one block evaluation for every slot where the block's Gaussian is above
// kWeightFloor of its peak (|k - t| < 2.45 sigma), five products in all (forward two; backward
// the inp layer again, then both layers transposed). A wide sigma makes that nearly N^2 per row,
// so the batches are small; as sigma narrows it falls towards ~5 sigma N.
//
// Soft pairing: where pairs are not sure, the unsure inps' out layers are mixtures sum_o Q_io W_o
// of the unsure outs, Q = Sinkhorn(Z / temperature). Per step the mixtures are formed (M^2 d h),
// each active entry of a mixture adds a h^T g to its weight gradient (one more product, on the
// sparse kernel), and dL/dQ_io = <W_o, dL/dW_i> + <b_o, dL/db_i> (M^2 d h again); entries of Q
// below 1e-6 are skipped in both. On b64-adamw-t3-40 (d 64, h 128) a round costs 1.8x one
// without pairing. Measured on b32-adam-40, where the weight score has 7 of 32 pairs right: one
// round puts every pair and the order right.
//
// Soft permutation (later rounds while far from the answer): a_kb = Sinkhorn(Z / temperature)
// over slots x blocks in place of the Gaussians, Z from no order, Adam on Z through the Sinkhorn
// iterations; rounded by the Hungarian algorithm on log a, every check_every steps, the best
// rounding on the subset rows kept. Why: a Gaussian spreads a block over neighbouring slots, and
// on the SGD-trained nets (blocks near their random initialisation, far from commuting) that
// smoothing erases the order - the true order at sigma 6 fits no better (soft MSE/var 0.36) than
// what the depths find from no order (0.31). A soft permutation mixes blocks within a slot
// instead: on b48-sgd-t3-40, given its pairs, its rounding gets the descent exact in ~10 s, where
// the depths never did. Near the answer the depths refine better (b64-adam-zero-120). Its cost per
// step starts at N^2 block evaluations per row (every entry above kPermutationFloor), like the
// depths' first round (~0.6 N^2), and falls as it sharpens.
//
// Determinism: the rows of a batch are cut into slices of a fixed size; each slice's gradient is
// kept apart and the slices are summed in order, whatever thread computed them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

#include "hungarian.hpp"
#include "moved.hpp"
#include "search_engine.hpp"
#include "sinkhorn.hpp"
#include "text.hpp"

namespace humpty {

namespace {

constexpr std::size_t kRelaxSlice = 16;  // rows a task runs through the soft network
constexpr double kWeightFloor = 0.05;  // a block skips slots where its Gaussian is below this x its peak
constexpr double kPermutationFloor = 1e-3;  // a soft permutation's entries below this are skipped
constexpr int kOrderIterations = 20;        // Sinkhorn normalisations of the soft permutation

struct Active {
  std::size_t slot, block;
  float weight;
};

// Per-slice memory: every slot's stream, one block's ReLU outputs and output, the adjoints. The
// backward pass runs the inp layers again instead of keeping every block's activations: kept,
// they ran to megabytes per slice and the passes waited on memory.
struct SliceScratch {
  std::vector<float> streams, hidden, output, adjoint, next_adjoint, grad_hidden;
  std::vector<double> weight_grad;  // dL/da per active entry
  std::vector<double> adjoint_sum;
  std::vector<float> mix_weight_grad;   // soft pairing: per mixture, transposed (hidden x dim_padded)
  std::vector<float> hidden_t;          // one block's a h^T (hidden x kRelaxSlice)
  std::vector<double> mix_bias_grad;
  double loss = 0;
};

// y += a x and v *= a over n floats, in groups of 8 that -O2 vectorises: GCC's cheap cost model
// leaves a loop of unknown length scalar, and the two loops took a quarter of slots_pass's own
// time on b64-adamw-t3-40 (perf). Each element rounds as in the plain loop (one product, one sum,
// no fused multiply-add), so the results are the same to the bit.
void add_scaled(float* y, const float* x, float a, std::size_t n) {
  std::size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    float part[8];
    for (std::size_t j = 0; j < 8; ++j) part[j] = y[q + j] + a * x[q + j];
    for (std::size_t j = 0; j < 8; ++j) y[q + j] = part[j];
  }
  for (; q < n; ++q) y[q] += a * x[q];
}

// The sum of x[q] y[q] over n floats, in double: eight partial sums (element q in sum q mod 8,
// a tail in the first), added in a fixed order at the end. Why: one running sum waits on each
// addition before the next, and took half of slots_pass's own time (perf, b64-adamw-t3-40);
// eight run side by side. With the two loops above, slots_pass's own share of that order-only
// solve fell from 15% to 8% (the rest is the kernels'). Unlike them it rounds differently from
// the one running sum (still the same for any thread count: a slice's rows stay together).
double dot(const float* x, const float* y, std::size_t n) {
  // Named sums, not an array: GCC kept an array's sums in memory, each step waiting on a store.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  std::size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    s0 += double(x[q]) * double(y[q]);
    s1 += double(x[q + 1]) * double(y[q + 1]);
    s2 += double(x[q + 2]) * double(y[q + 2]);
    s3 += double(x[q + 3]) * double(y[q + 3]);
    s4 += double(x[q + 4]) * double(y[q + 4]);
    s5 += double(x[q + 5]) * double(y[q + 5]);
    s6 += double(x[q + 6]) * double(y[q + 6]);
    s7 += double(x[q + 7]) * double(y[q + 7]);
  }
  for (; q < n; ++q) s0 += double(x[q]) * double(y[q]);  // none here: n = rows x hidden_padded
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

void scale(float* v, float a, std::size_t n) {
  std::size_t q = 0;
  for (; q + 8 <= n; q += 8) {
    float part[8];
    for (std::size_t j = 0; j < 8; ++j) part[j] = v[q + j] * a;
    for (std::size_t j = 0; j < 8; ++j) v[q + j] = part[j];
  }
  for (; q < n; ++q) v[q] *= a;
}

}  // namespace

namespace {

// The soft network's forward and backward pass; per_slice gets dL/da of each slice of rows apart
// (slices x slots x blocks), for the callers to sum in a fixed order. Returns the summed loss.
// Without per_slice (and soft) only the forward pass runs: two of the five products, the same
// loss to the bit.
double slots_pass(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                  const std::vector<Block>& blocks, const std::vector<double>& weights, ThreadPool& pool,
                  std::vector<double>* per_slice, std::uint64_t& block_rows, SoftOuts* soft) {
  const std::size_t n = blocks.size(), slots = n, dp = net.dim_padded, hp = net.hidden_padded;
  HUMPTY_ASSERT(weights.size() == slots * n && n > 0 && !batch.empty());
  HUMPTY_ASSERT(!soft || (soft->mix_of.size() == n && soft->forward.size() == soft->transposed.size()));
  HUMPTY_ASSERT(per_slice || !soft);  // a soft pairing is there for its gradient
  const std::size_t mixtures = soft ? soft->forward.size() : 0, d = net.dim, h_size = net.hidden;
  // Block b's out layer: its own piece, or its mixture under soft pairing.
  auto out_layer = [&](std::size_t b) -> const PackedLinear& {
    return soft && soft->mix_of[b] >= 0 ? soft->forward[std::size_t(soft->mix_of[b])] : net.piece(blocks[b].out);
  };
  auto out_transposed = [&](std::size_t b) -> const PackedLinear& {
    return soft && soft->mix_of[b] >= 0 ? soft->transposed[std::size_t(soft->mix_of[b])]
                                        : net.piece_transposed(blocks[b].out);
  };
  std::vector<Active> active;
  std::vector<std::size_t> slot_begin(slots + 1);
  for (std::size_t k = 0; k < slots; ++k) {
    slot_begin[k] = active.size();
    for (std::size_t b = 0; b < n; ++b) {
      if (weights[k * n + b] > 0) active.push_back({k, b, float(weights[k * n + b])});
    }
  }
  slot_begin[slots] = active.size();

  const std::size_t rows = batch.size(), slices = (rows + kRelaxSlice - 1) / kRelaxSlice;
  std::vector<SliceScratch> scratch(slices);
  pool.run(slices, [&](std::size_t slice, int) {
    SliceScratch& s = scratch[slice];
    const std::size_t first = slice * kRelaxSlice, count = std::min(kRelaxSlice, rows - first);
    const std::size_t stream_size = kRelaxSlice * dp, hidden_size = kRelaxSlice * hp;
    s.streams.assign((slots + 1) * stream_size, 0.0f);
    s.hidden.resize(hidden_size);
    s.output.resize(stream_size);
    if (per_slice) {  // the backward pass's scratch; a forward-only pass needs none of it
      s.adjoint.assign(stream_size, 0.0f);
      s.next_adjoint.resize(stream_size);
      s.grad_hidden.resize(hidden_size);
      s.weight_grad.assign(active.size(), 0.0);
      s.mix_weight_grad.assign(mixtures * h_size * dp, 0.0f);
      s.hidden_t.assign(h_size * kRelaxSlice, 0.0f);
      s.mix_bias_grad.assign(mixtures * d, 0.0);
    }
    load_rows(data, std::vector<std::size_t>(batch.begin() + long(first), batch.begin() + long(first + count)), dp,
              s.streams.data());
    // Forward: x_{k+1} = x_k + sum_b a_kb f_b(x_k).
    for (std::size_t k = 0; k < slots; ++k) {
      const float* x = s.streams.data() + k * stream_size;
      float* next = s.streams.data() + (k + 1) * stream_size;
      std::memcpy(next, x, count * dp * sizeof(float));
      for (std::size_t e = slot_begin[k]; e < slot_begin[k + 1]; ++e) {
        const Block& b = blocks[active[e].block];
        float* h = s.hidden.data();
        float* f = s.output.data();
        linear_rows(net.piece(b.inp), x, dp, count, h, hp, Epilogue::relu);
        std::fill(f, f + count * dp, 0.0f);
        sparse_add_rows(out_layer(active[e].block), h, hp, count, f, dp);
        add_scaled(next, f, active[e].weight, count * dp);
      }
    }
    // The loss and its gradient at the last stream: (2 / rows) (y - pred) w_last per row.
    s.loss = 0;
    const float* last = s.streams.data() + slots * stream_size;
    for (std::size_t r = 0; r < count; ++r) {
      const double error = double(output_of(net, last + r * dp)) - data.pred[batch[first + r]];
      s.loss += error * error;
      if (!per_slice) continue;
      const float g = float(2 * error / double(rows));
      for (std::size_t q = 0; q < net.dim; ++q) s.adjoint[r * dp + q] = g * net.last_weight[q];
    }
    if (!per_slice) return;
    // Backward: with v = W_out^T g_{k+1} and h = relu(inp(x_k)),
    // dL/da_kb = sum_rows g_{k+1} . f_b(x_k) = sum_rows (v . h + g_{k+1} . b_out), and
    // g_k = g_{k+1} + sum_b a_kb W_in^T (relu'(.) * v).
    for (std::size_t k = slots; k-- > 0;) {
      const float* x = s.streams.data() + k * stream_size;
      std::memcpy(s.next_adjoint.data(), s.adjoint.data(), count * dp * sizeof(float));
      s.adjoint_sum.assign(net.dim, 0.0);  // sum over rows of g_{k+1}, for the b_out term
      for (std::size_t r = 0; r < count; ++r) {
        for (std::size_t q = 0; q < net.dim; ++q) s.adjoint_sum[q] += double(s.next_adjoint[r * dp + q]);
      }
      // Soft pairing: the adjoints g_{k+1} as a layer whose outputs are x g (x: count values).
      PackedLinear adjoint_layer;
      if (mixtures > 0) adjoint_layer = pack_columns(s.next_adjoint.data(), count, d, dp);
      for (std::size_t e = slot_begin[k]; e < slot_begin[k + 1]; ++e) {
        const Block& b = blocks[active[e].block];
        float* h = s.hidden.data();
        float* v = s.grad_hidden.data();
        linear_rows(net.piece(b.inp), x, dp, count, h, hp, Epilogue::relu);
        linear_rows(out_transposed(active[e].block), s.next_adjoint.data(), dp, count, v, hp, Epilogue::store);
        double sum = dot(v, h, count * hp);
        const std::vector<float>& out_bias = out_layer(active[e].block).bias;
        for (std::size_t q = 0; q < net.dim; ++q) sum += s.adjoint_sum[q] * double(out_bias[q]);
        s.weight_grad[e] = sum;
        const float a = active[e].weight;
        if (mixtures > 0 && soft->mix_of[active[e].block] >= 0) {
          // dL/dW of the mixture += a sum_rows g_{k+1} h^T, kept transposed (hidden x dim_padded):
          // the rows of a h^T run through the slot's layer of adjoints on the sparse kernel (a
          // loop of scalar updates took three quarters of the relaxation's time).
          const std::size_t m = std::size_t(soft->mix_of[active[e].block]);
          for (std::size_t r = 0; r < count; ++r) {
            for (std::size_t u = 0; u < h_size; ++u) s.hidden_t[u * kRelaxSlice + r] = a * h[r * hp + u];
          }
          sparse_add_rows(adjoint_layer, s.hidden_t.data(), kRelaxSlice, h_size,
                          s.mix_weight_grad.data() + m * h_size * dp, dp);
          for (std::size_t q = 0; q < d; ++q) s.mix_bias_grad[m * d + q] += double(a) * s.adjoint_sum[q];
        }
        scale(v, a, count * hp);
        masked_add_rows(net.piece_transposed(b.inp), v, hp, h, hp, count, s.adjoint.data(), dp);
      }
    }
  });

  double loss = 0;
  for (std::size_t slice = 0; slice < slices; ++slice) loss += scratch[slice].loss;
  if (!per_slice) {
    block_rows += std::uint64_t(active.size()) * rows;  // two products; a block is two
    return loss / double(rows);
  }
  per_slice->assign(slices * slots * n, 0.0);
  for (std::size_t slice = 0; slice < slices; ++slice) {
    for (std::size_t e = 0; e < active.size(); ++e) {
      (*per_slice)[(slice * slots + active[e].slot) * n + active[e].block] = scratch[slice].weight_grad[e];
    }
  }
  if (mixtures > 0) {
    soft->weight_grad.assign(mixtures * h_size * d, 0.0);
    soft->bias_grad.assign(mixtures * d, 0.0);
    for (std::size_t slice = 0; slice < slices; ++slice) {
      const std::vector<float>& part = scratch[slice].mix_weight_grad;
      for (std::size_t m = 0; m < mixtures; ++m) {
        for (std::size_t q = 0; q < d; ++q) {
          for (std::size_t u = 0; u < h_size; ++u) {
            soft->weight_grad[(m * d + q) * h_size + u] += double(part[(m * h_size + u) * dp + q]);
          }
        }
      }
      for (std::size_t q = 0; q < soft->bias_grad.size(); ++q) soft->bias_grad[q] += scratch[slice].mix_bias_grad[q];
    }
  }
  block_rows += std::uint64_t(active.size()) * rows * 5 / 2;  // five products; a block is two
  return loss / double(rows);
}

}  // namespace

double soft_slots_loss(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                       const std::vector<Block>& blocks, const std::vector<double>& weights, ThreadPool& pool,
                       std::vector<double>& weight_grad, std::uint64_t& block_rows, SoftOuts* soft) {
  std::vector<double> per_slice;
  const double loss = slots_pass(net, data, batch, blocks, weights, pool, &per_slice, block_rows, soft);
  const std::size_t size = weights.size(), slices = per_slice.size() / size;
  weight_grad.assign(size, 0.0);
  for (std::size_t slice = 0; slice < slices; ++slice) {
    for (std::size_t e = 0; e < size; ++e) weight_grad[e] += per_slice[slice * size + e];
  }
  return loss;
}

namespace {

// Each block's weights over the slots for soft_order_loss and soft_order_mse: a Gaussian around
// its depth cut where it falls below kWeightFloor of its peak, normalised over the slots kept
// (softmax of -(k - t)^2 / 2 sigma^2), so each block is applied once in all. shift = d log a_kb /
// d t_b, for the gradient (left out when null).
std::vector<double> gaussian_slots(const std::vector<double>& depth, const std::vector<double>& sigma,
                                   std::vector<double>* shift) {
  const std::size_t n = depth.size(), slots = n;
  HUMPTY_ASSERT(sigma.size() == n && n > 0);
  std::vector<double> weights(slots * n, 0.0);
  if (shift) shift->assign(slots * n, 0.0);
  for (std::size_t b = 0; b < n; ++b) {
    const double width = sigma[b];
    HUMPTY_ASSERT(width > 0);
    // The peak may fall between slots or outside them: the cut is relative to the nearest slot.
    const double nearest = std::clamp(std::round(depth[b]), 0.0, double(slots - 1)) - depth[b];
    const double floor = kWeightFloor * std::exp(-nearest * nearest / (2 * width * width));
    double sum = 0, mean = 0;
    for (std::size_t k = 0; k < slots; ++k) {
      const double z = double(k) - depth[b];
      const double w = std::exp(-z * z / (2 * width * width));
      if (w < floor) continue;
      weights[k * n + b] = w;
      sum += w;
    }
    HUMPTY_ASSERT(sum > 0);
    for (std::size_t k = 0; k < slots; ++k) {
      weights[k * n + b] /= sum;
      mean += weights[k * n + b] * (double(k) - depth[b]);
    }
    if (!shift) continue;
    for (std::size_t k = 0; k < slots; ++k)
      (*shift)[k * n + b] = (double(k) - depth[b] - mean) / (width * width);
  }
  return weights;
}

}  // namespace

double soft_order_mse(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                      const std::vector<Block>& blocks, const std::vector<double>& depth,
                      const std::vector<double>& sigma, ThreadPool& pool, std::uint64_t& block_rows) {
  HUMPTY_ASSERT(depth.size() == blocks.size());
  return slots_pass(net, data, batch, blocks, gaussian_slots(depth, sigma, nullptr), pool, nullptr,
                    block_rows, nullptr);
}

double soft_order_loss(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                       const std::vector<Block>& blocks, const std::vector<double>& depth,
                       const std::vector<double>& sigma, ThreadPool& pool, std::vector<double>& grad,
                       std::uint64_t& block_rows, SoftOuts* soft) {
  const std::size_t n = blocks.size(), slots = n;
  HUMPTY_ASSERT(depth.size() == n);
  std::vector<double> shift;
  const std::vector<double> weights = gaussian_slots(depth, sigma, &shift);
  std::vector<double> per_slice;
  const double loss = slots_pass(net, data, batch, blocks, weights, pool, &per_slice, block_rows, soft);
  // dL/dt_b = sum_k dL/da_kb a_kb shift_kb, slice by slice.
  grad.assign(n, 0.0);
  for (std::size_t slice = 0; slice < per_slice.size() / (slots * n); ++slice) {
    for (std::size_t e = 0; e < slots * n; ++e) {
      if (weights[e] > 0) grad[e % n] += per_slice[slice * slots * n + e] * weights[e] * shift[e];
    }
  }
  return loss;
}

std::vector<Block> relax_order(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& rows,
                               const std::vector<Block>& blocks, const std::vector<double>& start_depth,
                               const RelaxSchedule& schedule, Rng& rng, ThreadPool& pool, RelaxStats& stats,
                               const std::function<bool()>& stop, const Puzzle* puzzle,
                               const SoftPairing* pairing,
                               const std::function<double(const std::vector<Block>&)>& judge) {
  const std::size_t n = blocks.size();
  HUMPTY_ASSERT(start_depth.size() == n && !rows.empty() && schedule.batch > 0 && schedule.batch_early > 0);
  HUMPTY_ASSERT(schedule.sigma_start.size() == n);
  const std::size_t mixtures = pairing ? pairing->blocks.size() : 0;
  HUMPTY_ASSERT(!pairing || (puzzle && pairing->outs.size() == mixtures && pairing->logits.size() == mixtures * mixtures));
  std::vector<double> depth = start_depth, m(n, 0.0), v(n, 0.0), grad, sigma(n);
  std::vector<std::size_t> batch;
  const double beta1 = 0.9, beta2 = 0.999;
  double power1 = 1, power2 = 1;
  auto adam = [&](double& param, double& first, double& second, double g, double rate) {
    first = beta1 * first + (1 - beta1) * g;
    second = beta2 * second + (1 - beta2) * g * g;
    param -= rate * (first / (1 - power1)) / (std::sqrt(second / (1 - power2)) + 1e-12);
  };
  // Soft pairing: the logits Z (mixtures x outs), Q = Sinkhorn(Z / temperature), mixture k's out
  // layer sum_o Q_ko W_o. Its gradient: dL/dQ_ko = <W_o, dL/dW_k> + <b_o, dL/db_k>.
  SoftOuts soft;
  Sinkhorn sinkhorn;
  std::vector<double> logits = pairing ? pairing->logits : std::vector<double>(), logit_m(logits.size(), 0.0),
                      logit_v(logits.size(), 0.0), grad_q(logits.size());
  const std::size_t d = net.dim, h = net.hidden;
  if (pairing) {
    soft.mix_of.assign(n, -1);
    for (std::size_t k = 0; k < mixtures; ++k) soft.mix_of[pairing->blocks[k]] = int(k);
    soft.forward.resize(mixtures);
    soft.transposed.resize(mixtures);
  }
  auto out_piece = [&](std::size_t o) -> const Layer& { return puzzle->pieces[std::size_t(pairing->outs[o])]; };
  // Soft permutation of the order: logits Z (slots x blocks), a = Sinkhorn(Z / temperature).
  Sinkhorn order_sinkhorn;
  std::vector<double> order_logits, order_m, order_v, weights, weight_grad;
  if (schedule.permutation) {
    order_logits.resize(n * n);
    for (std::size_t k = 0; k < n; ++k) {
      for (std::size_t b = 0; b < n; ++b) {
        const double z = double(k) - start_depth[b], width = schedule.sigma_start[b];
        order_logits[k * n + b] = -z * z / (2 * width * width);
      }
    }
    order_m.assign(n * n, 0.0);
    order_v.assign(n * n, 0.0);
  }
  // The rounded assembly: pairs by the assignment that takes the most of Q; the order by the
  // assignment that takes the most of the soft permutation, or the blocks sorted by depth (ties
  // keep their given order).
  auto rounded = [&]() {
    std::vector<Block> paired = blocks;
    if (pairing && !sinkhorn.q().empty()) {
      std::vector<double> cost(mixtures * mixtures);
      for (std::size_t e = 0; e < cost.size(); ++e) cost[e] = -std::log(std::max(sinkhorn.q()[e], 1e-300));
      const std::vector<std::size_t> column = hungarian_min_cost(cost, mixtures);
      for (std::size_t k = 0; k < mixtures; ++k) paired[pairing->blocks[k]].out = pairing->outs[column[k]];
    }
    std::vector<std::size_t> by_depth(n);
    if (schedule.permutation && !order_sinkhorn.q().empty()) {
      std::vector<double> cost(n * n);
      for (std::size_t e = 0; e < cost.size(); ++e) cost[e] = -std::log(std::max(order_sinkhorn.q()[e], 1e-300));
      by_depth = hungarian_min_cost(cost, n);
    } else {
      std::iota(by_depth.begin(), by_depth.end(), std::size_t(0));
      std::stable_sort(by_depth.begin(), by_depth.end(), [&](std::size_t a, std::size_t b) { return depth[a] < depth[b]; });
    }
    std::vector<Block> ordered;
    ordered.reserve(n);
    for (std::size_t b : by_depth) ordered.push_back(paired[b]);
    return ordered;
  };
  std::vector<Block> best_rounded;
  double best_judged = INFINITY;
  std::size_t taken = 0;  // steps of this call (stats counts every call's)
  auto check = [&]() {
    std::vector<Block> candidate = rounded();
    const double score = judge(candidate);
    if (score < best_judged) {
      best_judged = score;
      best_rounded = std::move(candidate);
    }
  };
  for (std::size_t step = 0; step < schedule.steps && !(stop && stop()); ++step) {
    const double progress = schedule.steps > 1 ? double(step) / double(schedule.steps - 1) : 1.0;
    for (std::size_t b = 0; b < n; ++b) {
      sigma[b] = schedule.sigma_start[b] * std::pow(schedule.sigma_end / schedule.sigma_start[b], progress);
    }
    if (pairing) {
      const double temperature =
          pairing->temperature_start * std::pow(pairing->temperature_end / pairing->temperature_start, progress);
      const std::vector<double>& q = sinkhorn.forward(logits, mixtures, temperature, pairing->iterations);
      pool.run(mixtures, [&](std::size_t k, int) {
        Layer mixed{d, h, std::vector<float>(d * h, 0.0f), std::vector<float>(d, 0.0f)};
        for (std::size_t o = 0; o < mixtures; ++o) {
          const float weight = float(q[k * mixtures + o]);
          if (weight < 1e-6f) continue;  // adds nothing visible in floats; most of Q once it is sharp
          const Layer& w = out_piece(o);
          std::size_t e = 0;
          for (; e + 8 <= d * h; e += 8) {  // groups of 8, vectorised (see the gradient above)
            float sum[8];
            for (std::size_t j = 0; j < 8; ++j) sum[j] = mixed.weight[e + j] + weight * w.weight[e + j];
            for (std::size_t j = 0; j < 8; ++j) mixed.weight[e + j] = sum[j];
          }
          for (; e < d * h; ++e) mixed.weight[e] += weight * w.weight[e];
          for (std::size_t c = 0; c < d; ++c) mixed.bias[c] += weight * w.bias[c];
        }
        soft.forward[k] = pack_linear(mixed);
        soft.transposed[k] = pack_columns(mixed.weight.data(), d, h, h);
      });
    }
    batch.resize(
        std::min(progress < schedule.early_until ? schedule.batch_early : schedule.batch, rows.size()));
    for (std::size_t& row : batch) row = rows[rng.below(rows.size())];
    if (schedule.permutation) {
      const double temperature = std::pow(schedule.temperature_end, progress);
      const std::vector<double>& q = order_sinkhorn.forward(order_logits, n, temperature, kOrderIterations);
      weights.assign(n * n, 0.0);
      for (std::size_t e = 0; e < n * n; ++e) weights[e] = q[e] < kPermutationFloor ? 0.0 : q[e];
      stats.loss = soft_slots_loss(net, data, batch, blocks, weights, pool, weight_grad, stats.block_rows,
                                   pairing ? &soft : nullptr);
    } else {
      stats.loss = soft_order_loss(net, data, batch, blocks, depth, sigma, pool, grad, stats.block_rows,
                                   pairing ? &soft : nullptr);
    }
    ++stats.steps;
    ++taken;
    // Adam on the depths (a depth stays within a slot of the ends) and on the pairing's logits.
    power1 *= beta1;
    power2 *= beta2;
    if (schedule.permutation) {
      const std::vector<double> grad_logits = order_sinkhorn.backward(weight_grad);
      for (std::size_t e = 0; e < n * n; ++e) adam(order_logits[e], order_m[e], order_v[e], grad_logits[e], schedule.logit_rate);
    } else {
      for (std::size_t b = 0; b < n; ++b) {
        adam(depth[b], m[b], v[b], grad[b], schedule.rate);
        depth[b] = std::clamp(depth[b], -1.0, double(n));
      }
    }
    if (pairing) {
      const std::vector<double>& q = sinkhorn.q();
      pool.run(mixtures, [&](std::size_t k, int) {
        std::vector<float> wg(soft.weight_grad.begin() + std::ptrdiff_t(k * h * d),
                              soft.weight_grad.begin() + std::ptrdiff_t((k + 1) * h * d));
        const double* bg = soft.bias_grad.data() + k * d;
        for (std::size_t o = 0; o < mixtures; ++o) {
          // Through Sinkhorn a logit's gradient is Q_ko times this: where Q_ko is below 1e-6 it
          // moves nothing, and skipping it saves most of the cost once Q is sharp.
          if (q[k * mixtures + o] < 1e-6) {
            grad_q[k * mixtures + o] = 0;
            continue;
          }
          const Layer& w = out_piece(o);  // d x h, row-major, as the gradient
          float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          std::size_t e = 0;
          for (; e + 8 <= d * h; e += 8) {
            for (std::size_t j = 0; j < 8; ++j) lane[j] += w.weight[e + j] * wg[e + j];
          }
          double sum = 0;
          for (; e < d * h; ++e) sum += double(w.weight[e]) * double(wg[e]);
          for (float part : lane) sum += double(part);
          for (std::size_t c = 0; c < d; ++c) sum += double(w.bias[c]) * bg[c];
          grad_q[k * mixtures + o] = sum;
        }
      });
      const std::vector<double> grad_logits = sinkhorn.backward(grad_q);
      for (std::size_t e = 0; e < logits.size(); ++e) adam(logits[e], logit_m[e], logit_v[e], grad_logits[e], pairing->rate);
    }
    if (judge && schedule.check_every > 0 && (step + 1) % schedule.check_every == 0) check();
  }
  if (taken == 0) return blocks;  // stopped before its first step: nothing to round
  if (!judge) return rounded();
  check();
  return best_rounded.empty() ? rounded() : best_rounded;  // empty if every score was NaN or infinite
}

namespace {

// The moved-weight shares (moved.hpp) track depth in most of the hard suite's nets, even where no
// other weight statistic does (rank correlation of a block's two shares' sum with depth: -0.78 on
// b64-sgd-120, -0.88 on b48-sgd-t3-40, -0.83 on b64-adam-40, -0.99 on b48-adamw-120; but +0.41 on
// b64-adamw-t3-40 and -0.44 on b64-adam-zero-120, whence the probe before it is used).

// Each block's place (0..N-1) when ranked by its moved shares (moved_shares), most moved first
// (ties keep the given order).
std::vector<double> moved_ranks(const std::vector<double>& share) {
  const std::size_t n = share.size();
  std::vector<std::size_t> by_share(n);
  std::iota(by_share.begin(), by_share.end(), std::size_t(0));
  std::stable_sort(by_share.begin(), by_share.end(), [&](std::size_t a, std::size_t b) { return share[a] > share[b]; });
  std::vector<double> rank(n);
  for (std::size_t p = 0; p < n; ++p) rank[by_share[p]] = double(p);
  return rank;
}

}  // namespace

// Whether the moved-weight ranking fits (1) or not (0): the soft network at the first round's
// width with all depths in the middle, at the ranks, and at the ranks reversed, on the same spread
// rows. The ranks are used where they fit better than both. Measured on the hard suite with
// the right pairs (soft MSE from no order, ranked, reversed): b64-adam-40 0.70, 0.39, 3.1;
// b48-adamw-120 0.49, 0.07, 1.0; b64-sgd-120 0.81, 1.0, 3.8 (not used); b64-adamw-t3-40, whose
// ranking runs backwards (rank correlation +0.41), 1.33, 4.8, 0.97 - not used either: starting
// there reversed made all of three order-only solves fail, and no reason for training to move
// late blocks most is known. Costs three soft forward passes of relax_prior_rows rows, once a search
// (with the gradient they took 1.7 s of b64-adamw-t3-40's 12-s order-only solve).
int Engine::probe_prior(const std::vector<double>& ranks, const std::vector<Block>& blocks) {
  const std::size_t n = blocks.size(), rows = std::min(tuning_.relax_prior_rows, fine_.rows());
  if (rows == 0) return 0;
  std::vector<std::size_t> probe(rows);
  for (std::size_t k = 0; k < rows; ++k) probe[k] = fine_.row_indices()[k * fine_.rows() / rows];
  std::vector<double> middle(n, double(n - 1) / 2), reversed(n);
  const std::vector<double> sigma(n, std::max(tuning_.relax_sigma_start * double(n), tuning_.relax_sigma_end));
  for (std::size_t b = 0; b < n; ++b) reversed[b] = double(n - 1) - ranks[b];
  std::uint64_t& work = relax_stats_.block_rows;
  const double none = soft_order_mse(net_, data_, probe, blocks, middle, sigma, pool_, work);
  const double ranked = soft_order_mse(net_, data_, probe, blocks, ranks, sigma, pool_, work);
  const double backwards = soft_order_mse(net_, data_, probe, blocks, reversed, sigma, pool_, work);
  const bool use = ranked < tuning_.relax_prior_gain * none && ranked < backwards;
  if (options_.log) {
    options_.log("search", format_text("moved-weight prior: soft mse %.3g from no order, %.3g ranked, %.3g reversed: %s",
                                       none, ranked, backwards, use ? "rounds from no order start ranked" : "not used"));
  }
  return use ? 1 : 0;
}

// A round of relaxation in place of annealing: the first from no order at all (every depth in
// the middle, a little noise to break ties), later ones from the best order, narrower. The
// rounded order becomes the current assembly even when it scores worse than the best: it is a
// new start for the descent in another basin, and the best is kept apart.
bool Engine::relax() {
  const std::size_t n = fine_.positions();
  // After a re-pairing kick whose descent found no new best, the round starts from where that
  // descent got, with the kick's pairs, instead of from the best (search_kick.cpp).
  const std::vector<Block>& base = kick_base_.empty() ? best_ : kick_base_;
  if (!tuning_.relax || best_sse_ / double(fine_.rows()) <= tuning_.relax_above * pred_variance_) return false;
  RelaxSchedule schedule;
  schedule.batch = std::max<std::size_t>(tuning_.relax_batch, 1);  // 0 would leave the step no rows
  schedule.batch_early = tuning_.relax_batch_early > 0 ? tuning_.relax_batch_early : schedule.batch;
  schedule.early_until = tuning_.relax_early_until;
  schedule.sigma_end = tuning_.relax_sigma_end;
  schedule.rate = tuning_.relax_rate;
  std::vector<double> depth(n);
  // Which rounds train a soft permutation (relax_perm); those start from no order.
  const std::size_t round = stats_.relax_rounds;
  const bool far = best_sse_ / double(fine_.rows()) > tuning_.relax_perm_above * pred_variance_;
  bool permutation = kick_base_.empty() && (tuning_.relax_perm == 2 || (tuning_.relax_perm == 1 && round == 0) ||
                                            (tuning_.relax_perm == 3 && round > 0 && far));
  // Its memory: the Sinkhorn tape (2 x iterations matrices of N^2), the logits with Adam's
  // moments, the slot weights and each slice's gradient: 1.6 MB at N = 64, 1 GB at N ~ 1650.
  const double slices =
      double((std::max(schedule.batch, schedule.batch_early) + kRelaxSlice - 1) / kRelaxSlice);
  const double permutation_bytes = 8.0 * double(n * n) * (2 * kOrderIterations + 5 + slices);
  if (permutation && permutation_bytes > tuning_.relax_pair_megabytes * 1048576.0) {
    if (options_.log && !permutation_too_big_) {
      options_.log("search", format_text("soft permutation skipped: it would need %.1f MB (relax_pair_megabytes %g)",
                                         permutation_bytes / 1048576.0, tuning_.relax_pair_megabytes));
    }
    permutation_too_big_ = true;
    permutation = false;
  }
  const bool fresh = round == 0 || permutation;
  if (fresh) {
    schedule.steps = tuning_.relax_steps;
    schedule.sigma_start.assign(n, std::max(tuning_.relax_sigma_start * double(n), schedule.sigma_end));
    for (double& t : depth) t = double(n - 1) / 2 + 0.01 * (rng_.uniform() - 0.5);
    if (tuning_.relax_prior_gain > 0 && n > 1) {
      // From the moved-weight ranking where it fits (moved_share), wider than from no order: on
      // b64-adam-40 given its pairs, 16 of 16 seeds exact within 20 s instead of 11 (at the
      // width from no order, 14).
      const std::vector<double> shares = moved_shares(puzzle_, base);
      const std::vector<double> ranks = moved_ranks(shares);
      if (prior_ < 0) {
        const std::size_t distinct = distinct_values(shares);
        if (double(distinct) < tuning_.relax_prior_distinct * double(n)) {
          prior_ = 0;
          if (options_.log) {
            options_.log("search", format_text("moved-weight prior: the %zu blocks' moved shares take %zu "
                                               "distinct value%s (%s): not used",
                                               n, distinct, distinct == 1 ? "" : "s",
                                               distinct == 1 ? "the weights never left their initial range"
                                                             : "mostly ties"));
          }
        } else {
          prior_ = probe_prior(ranks, base);
        }
      }
      if (prior_ > 0) {
        for (std::size_t b = 0; b < n; ++b) depth[b] += ranks[b] - double(n - 1) / 2;  // the tie-breaking noise kept
        schedule.sigma_start.assign(n, std::max(tuning_.relax_prior_width * double(n), schedule.sigma_end));
      }
    }
  } else {
    schedule.steps = tuning_.relax_steps / 2;
    schedule.sigma_start.assign(n, std::max(tuning_.relax_sigma_again, schedule.sigma_end));
    // Some blocks, drawn afresh each round, start wide: a block only feels the slots under its
    // Gaussian, so one far from its place cannot find it with a narrow one.
    for (double& width : schedule.sigma_start) {
      if (rng_.uniform() < tuning_.relax_free) width = std::max(tuning_.relax_sigma_start * double(n), width);
    }
    for (std::size_t p = 0; p < n; ++p) depth[p] = double(p) + 0.01 * (rng_.uniform() - 0.5);
  }
  // Soft pairing over the blocks whose pair is neither sure nor confident (relax_pair_confident),
  // when repairs are allowed. Pairs a caller gave (a start not from the score, or any start a
  // caller passed: SearchOptions::starts_given) stay until the order alone is stuck, as in the
  // descent: in a wrong order wrong pairs fit better, and given its right pairs and a shuffled
  // order, a first round that re-paired kept only 50-56 of 64 (b64-adam-40). The score's own
  // pairs are re-paired from the first round: b32-adam-40 (7 of 32 right) is then exact in one.
  // A soft permutation round, which starts the order afresh, keeps a caller's pairs even then: on
  // the SGD nets, whose weight score is no better than chance, re-pairing in those rounds undid
  // the given right pairs (b64-sgd-120: 10 of 64 left) and their orders no longer fitted.
  SoftPairing pairing;
  if (tuning_.relax_pairs && repairs_ && (own_pairs_ || (!order_phase_ && !permutation))) {
    for (std::size_t b = 0; b < n; ++b) {
      if (sure_partner_[std::size_t(base[b].inp)] >= 0) continue;
      if (score_partner_[std::size_t(base[b].inp)] == base[b].out &&
          pair_margin_[std::size_t(base[b].inp)] >= tuning_.relax_pair_confident) continue;
      pairing.blocks.push_back(b);
      pairing.outs.push_back(base[b].out);
    }
    const std::size_t count = pairing.blocks.size(), table = puzzle_.blocks();
    pairing.logits.resize(count * count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t row = table_index_[std::size_t(base[pairing.blocks[k]].inp)];
      for (std::size_t o = 0; o < count; ++o) {
        pairing.logits[k * count + o] = pair_logit_[row * table + table_index_[std::size_t(pairing.outs[o])]] +
                                        (o == k ? tuning_.relax_pair_keep : 0.0);
      }
    }
    pairing.rate = tuning_.relax_pair_rate;
    pairing.temperature_end = tuning_.relax_pair_cool;
    // Memory: per mixture a dense out layer packed both ways, its gradient in doubles, and one
    // float gradient per slice of rows; the Sinkhorn tape keeps 2 x iterations matrices. On the
    // hard suite's nets that is a few megabytes; a 200-block net with d 512 and h 2048 would
    // need gigabytes, and then the pairs are left to the descent rather than the machine swapping.
    const double layer = double(count) * double(puzzle_.dim) * double(puzzle_.hidden);
    const double bytes = layer * (4 * (2 + slices) + 8) + 8.0 * 2 * pairing.iterations * double(count * count);
    if (bytes > tuning_.relax_pair_megabytes * 1048576.0) {
      if (options_.log && !pairing_too_big_) {
        options_.log("search", format_text("soft pairing skipped: it would need %.1f MB (relax_pair_megabytes %g)",
                                           bytes / 1048576.0, tuning_.relax_pair_megabytes));
      }
      pairing_too_big_ = true;
      pairing = SoftPairing();
    }
  }
  schedule.permutation = permutation;
  schedule.temperature_end = tuning_.relax_perm_cool;
  schedule.logit_rate = tuning_.relax_perm_rate;
  schedule.check_every = tuning_.relax_perm_check;
  // A soft permutation's rounded order is scored on the subset rows every few steps, the best kept:
  // on b64-sgd-120 the rounded order was best well before the end of the round.
  std::function<double(const std::vector<Block>&)> judge;
  if (permutation) judge = [this](const std::vector<Block>& candidate) { return fine_.try_candidate(candidate, 0); };
  ++stats_.relax_rounds;
  const std::uint64_t steps_before = relax_stats_.steps;
  const std::vector<Block> ordered = relax_order(
      net_, data_, fine_.row_indices(), base, depth, schedule, rng_, pool_, relax_stats_,
      [&] {
        if (relax_stats_.steps == steps_before) return should_stop();  // no loss to show yet
        heartbeat([&] {
          return format_text(
              "relaxation round %llu (%s): step %llu of %zu, soft mse %.3g",
              (unsigned long long)stats_.relax_rounds, permutation ? "soft permutation" : "depths",
              (unsigned long long)(relax_stats_.steps - steps_before), schedule.steps, relax_stats_.loss);
        });
        return should_stop();
      },
      &puzzle_, pairing.blocks.size() > 1 ? &pairing : nullptr, judge);
  stats_.relax_steps += relax_stats_.steps - steps_before;
  commit(ordered, 0);
  if (options_.log && relax_stats_.steps == steps_before) {
    options_.log("search", format_text("relaxation round %llu (%s): stopped before its first step",
                                       (unsigned long long)stats_.relax_rounds,
                                       permutation ? "soft permutation" : "depths"));
  } else if (options_.log) {
    options_.log("search", format_text("relaxation round %llu (%s): soft mse %.3g, rounded order mse %.3g on %.0f rows",
                                       (unsigned long long)stats_.relax_rounds,
                                       permutation ? "soft permutation" : "depths", relax_stats_.loss, fine_.mse(),
                                       double(fine_.rows())));
  }
  return true;
}

}  // namespace humpty
