// humpty/generate.hpp - puzzles with known answers, of any size, without Python: a synthetic
// regression dataset, a residual MLP trained on it with humpty's own backpropagation and
// Adam/AdamW, then cut into shuffled pieces.
#pragma once

#include <cstdint>
#include <string>

#include "humpty/model.hpp"
#include "humpty/result.hpp"
#include "humpty/solve.hpp"

namespace humpty {

// How the network is trained: the optimisers PyTorch users reach for first.
enum class Optimizer {
  adam,   // torch.optim.Adam; weight_decay is L2 added to the gradient
  adamw,  // torch.optim.AdamW; weight_decay is decoupled
  sgd,    // torch.optim.SGD with momentum 0.9; weight_decay is L2 added to the gradient
};
const char* optimizer_name(Optimizer optimizer);

// The synthetic features' distribution, each of unit variance.
enum class InputDistribution {
  normal,   // N(0, 1)
  uniform,  // U(-sqrt 3, sqrt 3)
  t3,       // Student's t with 3 degrees of freedom, / sqrt 3: heavy tails, as real measurements
};
const char* input_name(InputDistribution inputs);

struct GenerateOptions {
  std::size_t blocks = 16;  // N
  std::size_t dim = 16;     // d, the stream width (and the number of features)
  std::size_t hidden = 32;  // h (h == d: square blocks, whose roles only the weights and data tell)
  std::size_t rows = 2000;  // data rows
  std::size_t outputs = 1;  // o, the last layer's outputs (1 to 256), each regressing its own target
  std::size_t epochs = 40;  // passes over the data
  std::size_t batch = 64;   // rows per optimiser step
  double lr = 1e-3;         // the optimiser's learning rate
  double weight_decay = 0;  // see Optimizer
  Optimizer optimizer = Optimizer::adam;
  bool zero_bias = false;   // biases start at zero (weights as nn.Linear's default)
  bool no_bias = false;     // no biases at all, as nn.Linear(..., bias=False): none trained or stored
  InputDistribution inputs = InputDistribution::normal;
  // When not null: train on these rows' features and `truth` (which it must have, for every one
  // of `outputs` outputs) instead of synthetic data; dim is then the data's feature count and
  // rows its row count.
  const Dataset* data = nullptr;
  std::uint64_t seed = 1;   // data, initialisation, batches and shuffle all follow from it
  int threads = 0;          // <= 0: all cores; the result does not depend on it
  Logger log;               // progress: "epoch 3/40: loss 0.1234"
};

struct GeneratedPuzzle {
  Puzzle puzzle;    // the pieces, shuffled
  Dataset data;     // features, pred (the trained network's output), true (the target)
  Assembly answer;  // the right assembly of the shuffled pieces
  double loss = 0;  // the trained network's MSE against true
};

// Errors for options that make no network (zero sizes, absurd sizes, data without
// `true`), and when training diverges (a loss or an output that is not finite).
Result<GeneratedPuzzle> generate_puzzle(const GenerateOptions& options);

}  // namespace humpty
