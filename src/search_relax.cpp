// Relaxation: a global phase for the order, the blocks' pairs kept (overview in search_engine.hpp).
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
// Determinism: the rows of a batch are cut into slices of a fixed size; each slice's gradient is
// kept apart and the slices are summed in order, whatever thread computed them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

#include "search_engine.hpp"
#include "text.hpp"

namespace humpty {

namespace {

constexpr std::size_t kRelaxSlice = 16;  // rows a task runs through the soft network
constexpr double kWeightFloor = 0.05;  // a block skips slots where its Gaussian is below this x its peak

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
  double loss = 0;
};

}  // namespace

double soft_order_loss(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                       const std::vector<Block>& blocks, const std::vector<double>& depth,
                       const std::vector<double>& sigma, ThreadPool& pool, std::vector<double>& grad,
                       std::uint64_t& block_rows) {
  const std::size_t n = blocks.size(), slots = n, dp = net.dim_padded, hp = net.hidden_padded;
  HUMPTY_ASSERT(depth.size() == n && sigma.size() == n && n > 0 && !batch.empty());
  // Each block's weights over the slots: a Gaussian around its depth cut where it falls below
  // kWeightFloor of its peak, normalised over the slots kept (softmax of -(k - t)^2 / 2 sigma^2),
  // so each block is applied once in all. shift = d log a_kb / d t_b, for the gradient.
  std::vector<double> weights(slots * n, 0.0), shift(slots * n, 0.0);
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
    for (std::size_t k = 0; k < slots; ++k) shift[k * n + b] = (double(k) - depth[b] - mean) / (width * width);
  }
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
    s.adjoint.assign(stream_size, 0.0f);
    s.next_adjoint.resize(stream_size);
    s.grad_hidden.resize(hidden_size);
    s.weight_grad.assign(active.size(), 0.0);
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
        sparse_add_rows(net.piece(b.out), h, hp, count, f, dp);
        const float a = active[e].weight;
        for (std::size_t q = 0; q < count * dp; ++q) next[q] += a * f[q];
      }
    }
    // The loss and its gradient at the last stream: (2 / rows) (y - pred) w_last per row.
    s.loss = 0;
    const float* last = s.streams.data() + slots * stream_size;
    for (std::size_t r = 0; r < count; ++r) {
      const double error = double(output_of(net, last + r * dp)) - data.pred[batch[first + r]];
      s.loss += error * error;
      const float g = float(2 * error / double(rows));
      for (std::size_t q = 0; q < net.dim; ++q) s.adjoint[r * dp + q] = g * net.last_weight[q];
    }
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
      for (std::size_t e = slot_begin[k]; e < slot_begin[k + 1]; ++e) {
        const Block& b = blocks[active[e].block];
        float* h = s.hidden.data();
        float* v = s.grad_hidden.data();
        linear_rows(net.piece(b.inp), x, dp, count, h, hp, Epilogue::relu);
        linear_rows(net.piece_transposed(b.out), s.next_adjoint.data(), dp, count, v, hp, Epilogue::store);
        double sum = 0;
        for (std::size_t q = 0; q < count * hp; ++q) sum += double(v[q]) * double(h[q]);
        const std::vector<float>& out_bias = net.piece(b.out).bias;
        for (std::size_t q = 0; q < net.dim; ++q) sum += s.adjoint_sum[q] * double(out_bias[q]);
        s.weight_grad[e] = sum;
        const float a = active[e].weight;
        for (std::size_t q = 0; q < count * hp; ++q) v[q] *= a;
        masked_add_rows(net.piece_transposed(b.inp), v, hp, h, hp, count, s.adjoint.data(), dp);
      }
    }
  });

  // dL/dt_b = sum_k dL/da_kb a_kb shift_kb, the slices summed in order.
  grad.assign(n, 0.0);
  double loss = 0;
  for (std::size_t slice = 0; slice < slices; ++slice) {
    loss += scratch[slice].loss;
    for (std::size_t e = 0; e < active.size(); ++e) {
      const Active& entry = active[e];
      grad[entry.block] +=
          scratch[slice].weight_grad[e] * weights[entry.slot * n + entry.block] * shift[entry.slot * n + entry.block];
    }
  }
  block_rows += std::uint64_t(active.size()) * rows * 5 / 2;  // five products; a block is two
  return loss / double(rows);
}

std::vector<Block> relax_order(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& rows,
                               const std::vector<Block>& blocks, const std::vector<double>& start_depth,
                               const RelaxSchedule& schedule, Rng& rng, ThreadPool& pool, RelaxStats& stats,
                               const std::function<bool()>& stop) {
  const std::size_t n = blocks.size();
  HUMPTY_ASSERT(start_depth.size() == n && !rows.empty() && schedule.batch > 0);
  HUMPTY_ASSERT(schedule.sigma_start.size() == n);
  std::vector<double> depth = start_depth, m(n, 0.0), v(n, 0.0), grad, sigma(n);
  std::vector<std::size_t> batch(std::min(schedule.batch, rows.size()));
  const double beta1 = 0.9, beta2 = 0.999;
  double power1 = 1, power2 = 1;
  for (std::size_t step = 0; step < schedule.steps && !(stop && stop()); ++step) {
    const double progress = schedule.steps > 1 ? double(step) / double(schedule.steps - 1) : 1.0;
    for (std::size_t b = 0; b < n; ++b) {
      sigma[b] = schedule.sigma_start[b] * std::pow(schedule.sigma_end / schedule.sigma_start[b], progress);
    }
    for (std::size_t& row : batch) row = rows[rng.below(rows.size())];
    stats.loss = soft_order_loss(net, data, batch, blocks, depth, sigma, pool, grad, stats.block_rows);
    ++stats.steps;
    // Adam on the depths; a depth stays within a slot of the ends.
    power1 *= beta1;
    power2 *= beta2;
    for (std::size_t b = 0; b < n; ++b) {
      m[b] = beta1 * m[b] + (1 - beta1) * grad[b];
      v[b] = beta2 * v[b] + (1 - beta2) * grad[b] * grad[b];
      const double step_size = schedule.rate * (m[b] / (1 - power1)) / (std::sqrt(v[b] / (1 - power2)) + 1e-12);
      depth[b] = std::clamp(depth[b] - step_size, -1.0, double(n));
    }
  }
  // Rounded: the blocks sorted by depth (ties keep their given order).
  std::vector<std::size_t> by_depth(n);
  std::iota(by_depth.begin(), by_depth.end(), std::size_t(0));
  std::stable_sort(by_depth.begin(), by_depth.end(), [&](std::size_t a, std::size_t b) { return depth[a] < depth[b]; });
  std::vector<Block> ordered;
  ordered.reserve(n);
  for (std::size_t b : by_depth) ordered.push_back(blocks[b]);
  return ordered;
}

// A round of relaxation in place of annealing: the first from no order at all (every depth in
// the middle, a little noise to break ties), later ones from the best order, narrower. The
// rounded order becomes the current assembly even when it scores worse than the best: it is a
// new start for the descent in another basin, and the best is kept apart.
bool Engine::relax() {
  const std::size_t n = fine_.positions();
  if (!tuning_.relax || best_sse_ / double(fine_.rows()) <= tuning_.relax_above * pred_variance_) return false;
  RelaxSchedule schedule;
  schedule.batch = tuning_.relax_batch;
  schedule.sigma_end = tuning_.relax_sigma_end;
  schedule.rate = tuning_.relax_rate;
  std::vector<double> depth(n);
  if (stats_.relax_rounds == 0) {
    schedule.steps = tuning_.relax_steps;
    schedule.sigma_start.assign(n, std::max(tuning_.relax_sigma_start * double(n), schedule.sigma_end));
    for (double& t : depth) t = double(n - 1) / 2 + 0.01 * (rng_.uniform() - 0.5);
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
  ++stats_.relax_rounds;
  const std::uint64_t steps_before = relax_stats_.steps;
  const std::vector<Block> ordered =
      relax_order(net_, data_, fine_.row_indices(), best_, depth, schedule, rng_, pool_, relax_stats_,
                  [this] { return should_stop(); });
  stats_.relax_steps += relax_stats_.steps - steps_before;
  commit(ordered, 0);
  if (options_.log) {
    options_.log("search", format_text("relaxation round %llu: soft mse %.3g, rounded order mse %.3g on %.0f rows",
                                       (unsigned long long)stats_.relax_rounds, relax_stats_.loss, fine_.mse(),
                                       double(fine_.rows())));
  }
  return true;
}

}  // namespace humpty
