// train.hpp - training the residual MLP x = x + out(relu(inp(x))), y = last(x): backpropagation
// through the packed kernels and Adam (or AdamW). Deterministic for any number of threads: each
// batch is cut into chunks of kTrainChunk rows whose gradients are computed independently and
// summed in chunk order.
#pragma once

#include <cstdint>
#include <vector>

#include "humpty/model.hpp"
#include "humpty/fit.hpp"

namespace humpty {

enum class TrainRule { adam, adamw, sgd };

struct TrainOptions {
  std::size_t epochs = 40, batch = 64;
  double lr = 1e-3, weight_decay = 0;
  TrainRule rule = TrainRule::adam;
  double momentum = 0.9;  // sgd
  std::uint64_t seed = 1;
  int threads = 0;
  Logger log;
};

// The network's layers in execution order: inp_0, out_0, inp_1, out_1, ..., last.
using Layers = std::vector<Layer>;

// PyTorch's nn.Linear initialisation: weights and biases uniform in +-1/sqrt(in_features).
// zero_bias: biases start at zero instead (the weights are drawn the same). The last layer has
// `outputs` rows (one: the draws are those of every network generated before there could be more).
Layers initial_layers(std::size_t blocks, std::size_t dim, std::size_t hidden, std::uint64_t seed,
                      bool zero_bias = false, std::size_t outputs = 1);

// Trains `layers` in place to regress `target` (rows x outputs, row-major; outputs = the last
// layer's rows) from the rows of `x` (rows x dim) by minimising the mean squared error over rows
// and outputs. Returns the last epoch's mean squared error (over its batches); training
// stops at the first epoch whose loss is not finite (diverged) and returns that loss.
double train(Layers& layers, const std::vector<float>& x, const std::vector<double>& target, std::size_t rows,
             const TrainOptions& options);

}  // namespace humpty
