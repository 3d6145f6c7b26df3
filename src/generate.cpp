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
constexpr std::size_t kTargetTerms = 8;

// Features ~ N(0, 1); the target is a smooth nonlinear function of them, a sum of sine ridges
// along random directions plus a linear part, with a little noise, scaled to unit variance.
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
  std::vector<double> direction(kTargetTerms * d), phase(kTargetTerms), weight(kTargetTerms), linear(d);
  for (double& v : direction) v = 1.5 * rng.normal() / std::sqrt(double(d));
  for (double& v : phase) v = 6.283185307179586 * rng.uniform();
  for (double& v : weight) v = rng.normal() / std::sqrt(double(kTargetTerms));
  for (double& v : linear) v = 0.5 * rng.normal() / std::sqrt(double(d));
  data.truth.resize(rows);
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
    data.truth[r] = y;
    sum += y;
    sum_squares += y * y;
  }
  const double mean = sum / double(rows);
  const double scale = 1 / std::sqrt(std::max(sum_squares / double(rows) - mean * mean, 1e-12));
  for (double& y : data.truth) y = (y - mean) * scale;
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
      return Status::failure(options.data->source + ": the data needs a `true` column to train on");
    }
    options.dim = options.data->features;
    options.rows = options.data->rows;
  }
  if (options.blocks == 0 || options.blocks > kMaxBlocks) {
    return Status::failure("blocks must be 1 to " + std::to_string(kMaxBlocks));
  }
  if (options.dim < 2 || options.dim > kMaxWidth || options.hidden == 0 || options.hidden > kMaxWidth) {
    return Status::failure("dim must be 2 to " + std::to_string(kMaxWidth) + " and hidden 1 to " +
                           std::to_string(kMaxWidth));
  }
  if (options.dim == options.hidden) {
    return Status::failure("hidden must differ from dim: the pieces' roles are told apart by shape");
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
  } else {
    data.source = "generated (seed " + std::to_string(options.seed) + ")";
    synthesize(options, data);
  }

  Layers layers = initial_layers(options.blocks, options.dim, options.hidden, options.seed, options.zero_bias);
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
  const double trained_loss = train(layers, data.x, data.truth, data.rows, train_options);
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
  std::vector<float> outputs = network_outputs(pack_puzzle(generated.puzzle), generated.answer, data, pool);
  data.pred.assign(outputs.begin(), outputs.end());
  for (std::size_t r = 0; r < data.rows; ++r) {
    if (!std::isfinite(data.pred[r])) {
      return Status::failure("training diverged: the trained network's output on row " + std::to_string(r) +
                             " is not finite; lower the learning rate");
    }
  }
  double sum = 0;
  for (std::size_t r = 0; r < data.rows; ++r)
    sum += (data.pred[r] - data.truth[r]) * (data.pred[r] - data.truth[r]);
  generated.loss = sum / double(data.rows);
  return generated;
}

}  // namespace humpty
