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

struct GenerateOptions {
  std::size_t blocks = 16;  // N
  std::size_t dim = 16;     // d, the stream width (and the number of features)
  std::size_t hidden = 32;  // h, must differ from d
  std::size_t rows = 2000;  // data rows
  std::size_t epochs = 40;  // passes over the data
  std::size_t batch = 64;   // rows per optimiser step
  double lr = 1e-3;         // Adam's learning rate
  double weight_decay = 0;  // AdamW's decoupled weight decay (0: plain Adam)
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

// Errors only for options that make no network (zero sizes, dim == hidden, absurd sizes).
Result<GeneratedPuzzle> generate_puzzle(const GenerateOptions& options);

}  // namespace humpty
