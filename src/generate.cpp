// Puzzles with known answers: a synthetic regression task, a network trained on it, shuffled.
#include "humpty/generate.hpp"

#include <cmath>
#include <numeric>

#include "network.hpp"
#include "parallel.hpp"
#include "pth.hpp"
#include "rng.hpp"
#include "text.hpp"
#include "train.hpp"

namespace humpty {
namespace {

constexpr std::size_t kMaxBlocks = 4096;
constexpr std::size_t kMaxWidth = 4096;
constexpr std::size_t kMaxRows = 10000000;
constexpr std::size_t kMaxElements = std::size_t(1) << 28;  // 1 GiB of float32
constexpr std::size_t kMaxOutputs = 256;
constexpr std::size_t kTargetTerms = 8;

// A target: a smooth nonlinear function of the features, a sum of sine ridges along random
// directions plus a linear part, with a little noise, scaled to unit variance.
std::vector<double> synthesize_target(const Dataset& data, Rng& rng) {
  const std::size_t d = data.features, rows = data.rows;
  std::vector<double> direction(kTargetTerms * d), phase(kTargetTerms), weight(kTargetTerms), linear(d);
  for (double& v : direction) v = 1.5 * rng.normal() / std::sqrt(double(d));
  for (double& v : phase) v = 6.283185307179586 * rng.uniform();
  for (double& v : weight) v = rng.normal() / std::sqrt(double(kTargetTerms));
  for (double& v : linear) v = 0.5 * rng.normal() / std::sqrt(double(d));
  std::vector<double> target(rows);
  double sum = 0, sum_squares = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = &data.x[r * d];
    double y = 0;
    for (std::size_t k = 0; k < kTargetTerms; ++k) {
      double projection = phase[k];
      for (std::size_t c = 0; c < d; ++c) projection += direction[k * d + c] * x[c];
      y += weight[k] * std::sin(projection);
    }
    for (std::size_t c = 0; c < d; ++c) y += linear[c] * x[c];
    y += 0.05 * rng.normal();
    target[r] = y;
    sum += y;
    sum_squares += y * y;
  }
  const double mean = sum / double(rows);
  const double scale = 1 / std::sqrt(std::max(sum_squares / double(rows) - mean * mean, 1e-12));
  for (double& y : target) y = (y - mean) * scale;
  return target;
}

// Features of unit variance from options.inputs, and a target for each output: output 0's from
// the features' generator (as before there were several), the others each from its own stream.
void synthesize(const GenerateOptions& options, Dataset& data) {
  const std::size_t d = options.dim, rows = options.rows;
  Rng rng(stream_seed(options.seed, 0));
  data.rows = rows;
  data.features = d;
  for (std::size_t c = 0; c < d; ++c) data.feature_names.push_back("measurement_" + std::to_string(c));
  data.x.resize(rows * d);
  switch (options.inputs) {
    case InputDistribution::normal:
      for (float& v : data.x) v = float(rng.normal());
      break;
    case InputDistribution::uniform:
      for (float& v : data.x) v = float((2 * rng.uniform() - 1) * std::sqrt(3.0));
      break;
    case InputDistribution::t3:
      // t3 = Z / sqrt(chi2_3 / 3), variance 3: scaled to 1.
      for (float& v : data.x) {
        const double z = rng.normal(), a = rng.normal(), b = rng.normal(), c = rng.normal();
        const double chi2 = a * a + b * b + c * c;
        v = float(z / std::sqrt(std::max(chi2, 1e-300) / 3) / std::sqrt(3.0));
      }
      break;
  }
  data.truth = synthesize_target(data, rng);
  for (std::size_t j = 1; j < options.outputs; ++j) {
    Rng output_rng(stream_seed(options.seed, (std::uint64_t(1) << 32) + j));  // apart from every other stream
    const std::vector<double> target = synthesize_target(data, output_rng);
    data.truth_rest.insert(data.truth_rest.end(), target.begin(), target.end());
  }
}

}  // namespace

const char* optimizer_name(Optimizer optimizer) {
  switch (optimizer) {
    case Optimizer::adam:
      return "adam";
    case Optimizer::adamw:
      return "adamw";
    case Optimizer::sgd:
      return "sgd";
  }
  return "?";
}

const char* input_name(InputDistribution inputs) {
  switch (inputs) {
    case InputDistribution::normal:
      return "normal";
    case InputDistribution::uniform:
      return "uniform";
    case InputDistribution::t3:
      return "t3";
  }
  return "?";
}

Result<GeneratedPuzzle> generate_puzzle(const GenerateOptions& given) {
  GenerateOptions options = given;
  if (options.data) {
    // The user's own rows: their features and target fix the width and the row count.
    if (!options.data->has_truth()) {
      return Status::failure(
          options.data->source + ": the data needs a `true` column to train on" +
          (options.outputs > 1 ? " (true_0 .. true_" + std::to_string(options.outputs - 1) + ")" : ""));
    }
    if (options.data->outputs != options.outputs) {
      return Status::failure(
          options.data->source + ": the data has targets for " + std::to_string(options.data->outputs) +
          " output" + (options.data->outputs == 1 ? "" : "s") + ", not " + std::to_string(options.outputs));
    }
    options.dim = options.data->features;
    options.rows = options.data->rows;
  }
  if (options.blocks == 0 || options.blocks > kMaxBlocks) {
    return Status::failure("blocks must be 1 to " + std::to_string(kMaxBlocks));
  }
  if (options.dim == 0 || options.dim > kMaxWidth || options.hidden == 0 || options.hidden > kMaxWidth) {
    return Status::failure("dim and hidden must be 1 to " + std::to_string(kMaxWidth));
  }
  if (options.outputs == 0 || options.outputs > kMaxOutputs)
    return Status::failure("outputs must be 1 to " + std::to_string(kMaxOutputs));
  // The last layer (outputs x dim) is told from the others by its shape, as the pieces are read.
  // (An outputs x dim last layer with outputs == hidden has the inp layers' shape; with square
  // blocks, outputs == dim == hidden too.)
  if (options.outputs == options.hidden) {
    return Status::failure("outputs must differ from hidden: the last layer is told apart by its shape");
  }
  if (options.rows == 0 || options.rows > kMaxRows)
    return Status::failure("rows must be 1 to " + std::to_string(kMaxRows));
  // Each limit alone allows sizes whose product no machine holds: bound the data and the network.
  if (double(options.rows) * double(options.dim) > double(kMaxElements)) {
    return Status::failure("rows x dim = " + std::to_string(options.rows) + " x " + std::to_string(options.dim) +
                           " is more than the limit of " + std::to_string(kMaxElements) + " data values");
  }
  if (2.0 * double(options.blocks) * double(options.dim) * double(options.hidden) > double(kMaxElements)) {
    return Status::failure("the network (" + std::to_string(options.blocks) + " blocks of " +
                           std::to_string(options.dim) + " x " + std::to_string(options.hidden) +
                           ") has more than the limit of " + std::to_string(kMaxElements) + " weights");
  }
  if (options.zero_bias && options.no_bias) {
    return Status::failure(
        "zero biases and no biases exclude each other: a layer without a bias has none to start at zero");
  }
  if (options.batch == 0) return Status::failure("batch must be at least 1");
  if (!(options.lr > 0) || !std::isfinite(options.lr) || !(options.weight_decay >= 0) ||
      !std::isfinite(options.weight_decay)) {
    return Status::failure("lr must be positive and finite, weight_decay non-negative and finite");
  }
  GeneratedPuzzle generated;
  Dataset& data = generated.data;
  if (options.data) {
    data.source = options.data->source;
    data.rows = options.rows;
    data.features = options.dim;
    data.feature_names = options.data->feature_names;
    data.x = options.data->x;
    data.truth = options.data->truth;
    data.truth_rest = options.data->truth_rest;
  } else {
    data.source = "generated (seed " + std::to_string(options.seed) + ")";
    synthesize(options, data);
  }

  data.outputs = options.outputs;
  Layers layers = initial_layers(options.blocks, options.dim, options.hidden, options.seed, options.zero_bias,
                                 options.outputs);
  if (options.no_bias) {
    // The weights are drawn as with biases, so that a net differs from its biased twin by the
    // biases alone; the trainer leaves a layer without a bias at zero.
    for (Layer& layer : layers) {
      layer.has_bias = false;
      std::fill(layer.bias.begin(), layer.bias.end(), 0.0f);
    }
  }
  TrainOptions train_options;
  train_options.epochs = options.epochs;
  train_options.batch = options.batch;
  train_options.lr = options.lr;
  train_options.weight_decay = options.weight_decay;
  train_options.rule = options.optimizer == Optimizer::sgd     ? TrainRule::sgd
                       : options.optimizer == Optimizer::adamw ? TrainRule::adamw
                                                               : TrainRule::adam;
  train_options.seed = options.seed;
  train_options.threads = options.threads;
  train_options.log = options.log;
  // The trainer takes each row's targets side by side.
  std::vector<double> targets = data.truth;
  if (options.outputs > 1) {
    targets.resize(data.rows * options.outputs);
    for (std::size_t r = 0; r < data.rows; ++r) {
      targets[r * options.outputs] = data.truth[r];
      for (std::size_t j = 1; j < options.outputs; ++j)
        targets[r * options.outputs + j] = data.truth_rest[(j - 1) * data.rows + r];
    }
  }
  const double trained_loss = train(layers, data.x, targets, data.rows, train_options);
  if (!std::isfinite(trained_loss)) {
    return Status::failure(std::string("training diverged (loss ") + (std::isnan(trained_loss) ? "nan" : "inf") +
                           "): lr " + format_text("%g", options.lr) + " is too high for " +
                           optimizer_name(options.optimizer));
  }

  // Shuffle: layer i of the execution order becomes piece number[i].
  std::vector<int> number(layers.size());
  std::iota(number.begin(), number.end(), 0);
  Rng rng(stream_seed(options.seed, 2));
  rng.shuffle(number);
  std::vector<Layer> pieces(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) pieces[std::size_t(number[i])] = std::move(layers[i]);
  for (std::size_t b = 0; b < options.blocks; ++b)
    generated.answer.blocks.push_back({number[2 * b], number[2 * b + 1]});
  generated.answer.last = number.back();
  auto puzzle = make_puzzle(std::move(pieces), data.source);
  if (!puzzle) return puzzle.status();
  generated.puzzle = std::move(*puzzle);

  // pred is the trained network's own output, by the same forward pass the solver uses.
  ThreadPool pool(options.threads);
  const PackedPuzzle net = pack_puzzle(generated.puzzle);
  std::vector<float> first, rest;
  if (options.outputs == 1) {
    first = network_outputs(net, generated.answer, data, pool);
  } else {
    every_output(net, generated.puzzle.pieces[std::size_t(generated.answer.last)], generated.answer, data,
                 pool, first, rest);
  }
  data.pred.assign(first.begin(), first.end());
  data.pred_rest.assign(rest.begin(), rest.end());
  double sum = 0;
  for (std::size_t i = 0; i < data.rows * options.outputs; ++i) {
    const bool output_0 = i < data.rows;
    const double y = output_0 ? data.pred[i] : data.pred_rest[i - data.rows];
    if (!std::isfinite(y)) {
      return Status::failure("training diverged: the trained network's output " +
                             std::to_string(i / data.rows) + " on row " + std::to_string(i % data.rows) +
                             " is not finite; lower the learning rate");
    }
    const double miss = y - (output_0 ? data.truth[i] : data.truth_rest[i - data.rows]);
    sum += miss * miss;
  }
  generated.loss = sum / double(data.rows * options.outputs);  // as nn.MSELoss over every output
  return generated;
}

}  // namespace humpty
