// Backpropagation and Adam for the residual MLP, on the same packed kernels as the solver.
#include "train.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "kernels.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace humpty {
namespace {

// Rows per gradient task. Fixed, so that the sum of a batch's gradient is the same sum of the
// same chunks for any number of threads.
constexpr std::size_t kTrainChunk = 16;

Layer uniform_layer(std::size_t rows, std::size_t cols, Rng& rng) {
  // nn.Linear: kaiming_uniform_(a=sqrt(5)) for the weight is U(-1/sqrt(in), 1/sqrt(in)), and so is
  // the bias.
  const double bound = 1.0 / std::sqrt(double(cols));
  Layer layer;
  layer.rows = rows;
  layer.cols = cols;
  layer.weight.resize(rows * cols);
  layer.bias.resize(rows);
  for (float& w : layer.weight) w = float((2 * rng.uniform() - 1) * bound);
  for (float& b : layer.bias) b = float((2 * rng.uniform() - 1) * bound);
  return layer;
}

// The weights packed for one optimiser step: forward (W) and backward (W^T) per layer.
struct StepWeights {
  std::vector<PackedLinear> forward, backward;
};

// One chunk's gradient, same shapes as the layers.
struct ChunkGradient {
  std::vector<std::vector<float>> weight, bias;
  double squared_error = 0;
};

// Per-worker memory for a chunk.
struct Work {
  std::vector<float> streams, hidden, grad, grad_hidden, columns, product;
  std::vector<float> sum;  // a layer's gradient summed over the chunks, in the optimiser's step
  PackedLinear input;  // a layer's input, packed for its weight gradient; reused, not reallocated
};

// sum[i] += part[i] for i < n. Eight at a time through local copies, which g++ -O2 turns into
// vector instructions (its loop vectoriser leaves a loop of unknown length alone there); each
// element is added as one float addition, the same bits either way.
void add_into(float* sum, const float* part, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float a[8], b[8];
    std::memcpy(a, sum + i, sizeof a);
    std::memcpy(b, part + i, sizeof b);
    for (int k = 0; k < 8; ++k) a[k] += b[k];
    std::memcpy(sum + i, a, sizeof a);
  }
  for (; i < n; ++i) sum[i] += part[i];
}

}  // namespace

Layers initial_layers(std::size_t blocks, std::size_t dim, std::size_t hidden, std::uint64_t seed,
                      bool zero_bias, std::size_t outputs) {
  Rng rng(stream_seed(seed, 1));
  Layers layers;
  for (std::size_t b = 0; b < blocks; ++b) {
    layers.push_back(uniform_layer(hidden, dim, rng));
    layers.push_back(uniform_layer(dim, hidden, rng));
  }
  layers.push_back(uniform_layer(outputs, dim, rng));
  if (zero_bias) {
    for (Layer& layer : layers) std::fill(layer.bias.begin(), layer.bias.end(), 0.0f);
  }
  return layers;
}

double train(Layers& layers, const std::vector<float>& x, const std::vector<double>& target, std::size_t rows,
             const TrainOptions& options) {
  const std::size_t blocks = (layers.size() - 1) / 2, d = layers.back().cols, h = layers[0].rows;
  const std::size_t outputs = layers.back().rows;
  const std::size_t dp = pad_to_panel(d), hp = pad_to_panel(h);
  const std::size_t batch = std::max<std::size_t>(1, std::min(options.batch, rows));
  ThreadPool pool(options.threads);
  std::vector<Work> work(std::size_t(pool.size()));

  // Adam's moments, per layer.
  std::vector<std::vector<float>> m_weight(layers.size()), v_weight(layers.size()), m_bias(layers.size()),
      v_bias(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    m_weight[l].assign(layers[l].weight.size(), 0.0f);
    v_weight[l].assign(layers[l].weight.size(), 0.0f);
    m_bias[l].assign(layers[l].bias.size(), 0.0f);
    v_bias[l].assign(layers[l].bias.size(), 0.0f);
  }
  const std::size_t max_chunks = (batch + kTrainChunk - 1) / kTrainChunk;
  std::vector<ChunkGradient> chunk_gradient(max_chunks);
  for (auto& g : chunk_gradient) {
    g.weight.resize(layers.size());
    g.bias.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      g.weight[l].resize(layers[l].weight.size());
      g.bias[l].resize(layers[l].bias.size());
    }
  }
  std::vector<std::size_t> order(rows);
  for (std::size_t r = 0; r < rows; ++r) order[r] = r;
  StepWeights step;
  step.forward.resize(layers.size());
  step.backward.resize(layers.size());
  std::uint64_t adam_step = 0;

  // Forward and backward for rows order[first .. first + count) of a batch of `batch_rows`.
  auto chunk_pass = [&](std::size_t first, std::size_t count, std::size_t batch_rows, ChunkGradient& g,
                        Work& w) {
    w.streams.assign((blocks + 1) * kTrainChunk * dp, 0.0f);
    // Not cleared: linear_rows writes every (padded) column of the `count` rows read later.
    w.hidden.resize(blocks * kTrainChunk * hp);
    w.grad.assign(kTrainChunk * dp, 0.0f);
    w.grad_hidden.assign(kTrainChunk * hp, 0.0f);
    auto stream = [&](std::size_t p) { return w.streams.data() + p * kTrainChunk * dp; };
    auto hidden = [&](std::size_t p) { return w.hidden.data() + p * kTrainChunk * hp; };
    for (std::size_t r = 0; r < count; ++r)
      std::memcpy(stream(0) + r * dp, &x[order[first + r] * d], d * sizeof(float));
    for (std::size_t b = 0; b < blocks; ++b) {
      linear_rows(step.forward[2 * b], stream(b), dp, count, hidden(b), hp, Epilogue::relu);
      std::memcpy(stream(b + 1), stream(b), kTrainChunk * dp * sizeof(float));
      sparse_add_rows(step.forward[2 * b + 1], hidden(b), hp, count, stream(b + 1), dp);
    }
    // Output, loss and the gradient at the last stream: dL/dy = 2 (y - t) / (batch outputs), the
    // mean over rows and outputs (nn.MSELoss).
    const Layer& last = layers.back();
    std::fill(g.weight.back().begin(), g.weight.back().end(), 0.0f);
    std::fill(g.bias.back().begin(), g.bias.back().end(), 0.0f);
    g.squared_error = 0;
    for (std::size_t r = 0; r < count; ++r) {
      const float* s = stream(blocks) + r * dp;
      for (std::size_t j = 0; j < outputs; ++j) {
        const float* weight = last.weight.data() + j * d;
        float y = last.bias[j];
        for (std::size_t k = 0; k < d; ++k) y += s[k] * weight[k];
        double error = double(y) - target[order[first + r] * outputs + j];
        g.squared_error += error * error;
        float dy = float(2 * error / (double(batch_rows) * double(outputs)));
        float* grad_weight = g.weight.back().data() + j * d;
        for (std::size_t k = 0; k < d; ++k) {
          grad_weight[k] += dy * s[k];
          // (one output: assigned, as before there were several)
          w.grad[r * dp + k] = j == 0 ? dy * weight[k] : w.grad[r * dp + k] + dy * weight[k];
        }
        g.bias.back()[j] += dy;
      }
    }
    // Blocks, last to first. G = dL/dS_{b+1} is the gradient of the block's output delta too.
    w.columns.resize(std::max(d, h) * kTrainChunk);
    w.product.resize(std::max(d * hp, h * dp));
    // A layer's gradient from the gradient at its output (count x outputs, rows `grad_stride`
    // apart) and its input (count x inputs): weight = grad^T input, bias = column sums of grad.
    auto layer_gradient = [&](const float* grad, std::size_t grad_stride, std::size_t outputs,
                              const float* input, std::size_t input_stride, std::size_t inputs,
                              std::size_t layer) {
      for (std::size_t r = 0; r < count; ++r) {
        for (std::size_t i = 0; i < outputs; ++i) w.columns[i * kTrainChunk + r] = grad[r * grad_stride + i];
      }
      const std::size_t product_stride = pad_to_panel(inputs);
      pack_columns_into(w.input, input, count, inputs, input_stride);
      linear_rows(w.input, w.columns.data(), kTrainChunk, outputs,
                  w.product.data(), product_stride, Epilogue::store);
      for (std::size_t i = 0; i < outputs; ++i)
        std::memcpy(&g.weight[layer][i * inputs], &w.product[i * product_stride], inputs * sizeof(float));
      // The bias: each column of grad summed over the rows in order from 0, all columns at once.
      float* bias = g.bias[layer].data();
      std::fill(bias, bias + outputs, 0.0f);
      for (std::size_t r = 0; r < count; ++r) add_into(bias, grad + r * grad_stride, outputs);
    };
    for (std::size_t b = blocks; b-- > 0;) {
      const std::size_t inp = 2 * b, out = 2 * b + 1;
      layer_gradient(w.grad.data(), dp, d, hidden(b), hp, h, out);
      // dA = (G W_out) masked by relu'.
      linear_rows(step.backward[out], w.grad.data(), dp, count, w.grad_hidden.data(), hp, Epilogue::store);
      // Masked with the bits, not a branch: half the units are active, so a branch here was
      // mispredicted half the time (a fifth of the training's time in perf). The same values: a
      // gradient kept as it is, or +0.
      for (std::size_t r = 0; r < count; ++r) {
        const float* active = hidden(b) + r * hp;
        float* g_row = w.grad_hidden.data() + r * hp;
        for (std::size_t a = 0; a < h; ++a) {
          std::uint32_t bits;
          std::memcpy(&bits, &g_row[a], sizeof bits);
          bits &= 0u - std::uint32_t(active[a] > 0);
          std::memcpy(&g_row[a], &bits, sizeof bits);
        }
      }
      layer_gradient(w.grad_hidden.data(), hp, h, stream(b), dp, d, inp);
      // G for the block before: G + dA W_in.
      sparse_add_rows(step.backward[inp], w.grad_hidden.data(), hp, count, w.grad.data(), dp);
    }
  };

  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  double loss = 0;
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    Rng rng(stream_seed(options.seed, 1000 + epoch));
    rng.shuffle(order);
    double epoch_error = 0;
    for (std::size_t first = 0; first < rows; first += batch) {
      const std::size_t batch_rows = std::min(batch, rows - first);
      // Packed on this thread: as a task per layer in the pool it was slower on two threads (2.14
      // against 2.07 s for the 24-block test net, medians of five), one more wait a step.
      for (std::size_t l = 0; l < layers.size(); ++l) {
        const Layer& layer = layers[l];
        step.forward[l] = pack_linear(layer);
        if (l + 1 < layers.size())
          pack_columns_into(step.backward[l], layer.weight.data(), layer.rows, layer.cols, layer.cols);
      }
      const std::size_t chunks = (batch_rows + kTrainChunk - 1) / kTrainChunk;
      pool.run(chunks, [&](std::size_t c, int worker) {
        std::size_t start = first + c * kTrainChunk;
        chunk_pass(start, std::min(kTrainChunk, first + batch_rows - start), batch_rows, chunk_gradient[c],
                   work[std::size_t(worker)]);
      });
      ++adam_step;
      const float correction1 = 1 - float(std::pow(double(beta1), double(adam_step)));
      const float correction2 = 1 - float(std::pow(double(beta2), double(adam_step)));
      const float lr = float(options.lr), decay = float(options.weight_decay), momentum = float(options.momentum);
      const AdamStep adam{lr,  decay,       beta1,       beta2,
                          eps, correction1, correction2, options.rule == TrainRule::adamw};
      // Sum the chunks in order, then AdamW (decoupled weight decay first, as torch.optim.AdamW).
      pool.run(2 * layers.size(), [&](std::size_t task, int worker) {
        const std::size_t l = task / 2;
        const bool is_bias = task % 2;
        if (is_bias && !layers[l].has_bias) return;  // nn.Linear(..., bias=False): nothing to train
        std::vector<float>& param = is_bias ? layers[l].bias : layers[l].weight;
        std::vector<float>& m = is_bias ? m_bias[l] : m_weight[l];
        std::vector<float>& v = is_bias ? v_bias[l] : v_weight[l];
        // Each weight's chunks summed in chunk order from 0, as before; a whole row of weights at a
        // time, so that the loop runs over contiguous floats.
        std::vector<float>& sum = work[std::size_t(worker)].sum;
        sum.assign(param.size(), 0.0f);
        for (std::size_t c = 0; c < chunks; ++c)
          add_into(sum.data(), (is_bias ? chunk_gradient[c].bias[l] : chunk_gradient[c].weight[l]).data(),
                   sum.size());
        if (options.rule != TrainRule::sgd) {
          adam_update(adam, param.data(), m.data(), v.data(), sum.data(), param.size());
          return;
        }
        for (std::size_t i = 0; i < param.size(); ++i) {
          // torch.optim.SGD: L2 into the gradient, the momentum buffer starts at the first
          // gradient (m holds it), no dampening.
          float grad = sum[i];
          if (decay != 0) grad += decay * param[i];
          m[i] = adam_step == 1 ? grad : momentum * m[i] + grad;
          param[i] -= lr * m[i];
        }
      });
      for (std::size_t c = 0; c < chunks; ++c) epoch_error += chunk_gradient[c].squared_error;
    }
    loss = epoch_error / (double(rows) * double(outputs));
    if (options.log) {
      char text[96];
      std::snprintf(text, sizeof text, "epoch %zu/%zu: training loss %.6g", epoch + 1, options.epochs, loss);
      options.log("train", text);
    }
    if (!std::isfinite(loss)) break;  // diverged: the caller reports it
  }
  return loss;
}

}  // namespace humpty
