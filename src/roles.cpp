// Roles of square pieces (d == h) from their weights: which pieces pair, and which of a pair is
// the inp layer; and the data's first-order regression, for square roles and for pairs
// (roles.hpp).
#include "roles.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "assert.hpp"
#include "evaluator.hpp"
#include "hungarian.hpp"
#include "kernels.hpp"
#include "linalg.hpp"
#include "network.hpp"
#include "pairing.hpp"

namespace humpty {

std::vector<Block> square_blocks(const std::vector<Layer>& pieces, const std::vector<int>& square) {
  const std::size_t n = square.size();
  HUMPTY_ASSERT(n >= 2 && n % 2 == 0);
  const std::size_t d = pieces[std::size_t(square[0])].rows;
  // Per piece: W^T, for trace(W_j W_i) = sum W_j o W_i^T; its Gram matrix as an out layer, W^T W,
  // and as an inp, W W^T, for ||W_j W_i||_F^2 = <W_j^T W_j, W_i W_i^T>. Never the n^2 products;
  // the Grams on the packed kernel (d^3 each: seconds for d = 1024 the naive way).
  std::vector<std::vector<float>> transposed(n), as_out(n), as_inp(n);
  std::vector<float> full;
  auto gram = [&](const float* rows, std::vector<float>& out) {  // out = rows rows^T, d x d
    const PackedLinear packed = pack_rows(rows, d, d, d);
    full.resize(d * packed.out_padded);
    linear_rows(packed, rows, d, d, full.data(), packed.out_padded, Epilogue::store);
    out.resize(d * d);
    for (std::size_t a = 0; a < d; ++a)
      std::copy_n(full.data() + a * packed.out_padded, d, out.data() + a * d);
  };
  for (std::size_t k = 0; k < n; ++k) {
    const Layer& layer = pieces[std::size_t(square[k])];
    HUMPTY_ASSERT(layer.rows == d && layer.cols == d);
    transposed[k].resize(d * d);
    for (std::size_t a = 0; a < d; ++a) {
      for (std::size_t b = 0; b < d; ++b) transposed[k][a * d + b] = layer.weight[b * d + a];
    }
    gram(transposed[k].data(), as_out[k]);
    gram(layer.weight.data(), as_inp[k]);
  }
  std::vector<std::vector<double>> inp_tails(n), out_tails(n);
  for (std::size_t k = 0; k < n; ++k) {
    inp_tails[k] = unit_tails(pieces[std::size_t(square[k])], true);
    out_tails[k] = unit_tails(pieces[std::size_t(square[k])], false);
  }
  // trace[i n + j]: piece i as the inp, j as the out, -trace(W_j W_i) / ||W_j W_i||_F as in the
  // pairing (a trained block damps its stream); units[i n + j]: their units' tails' correlation,
  // which tells the roles of a right pair apart (20-23 of 24 on PyTorch nets of 40 and 120
  // epochs, 7 of 8 to 23 of 24 on humpty's own) where the trace's asymmetry, through the norm
  // alone, is at chance or reversed.
  std::vector<double> trace(n * n, 0.0), units(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      const float* w = pieces[std::size_t(square[j])].weight.data();
      double product = 0, norm = 0, unit = 0;
      for (std::size_t e = 0; e < d * d; ++e) {
        product += double(w[e]) * double(transposed[i][e]);
        norm += double(as_out[j][e]) * double(as_inp[i][e]);
      }
      for (std::size_t u = 0; u < d; ++u) unit += inp_tails[i][u] * out_tails[j][u];
      trace[i * n + j] = norm > 0 ? -product / std::sqrt(norm) : 0.0;
      units[i * n + j] = unit;
    }
  }
  // One score per ordered pair, as the pairing combines its own: both tables standardised over
  // their off-diagonal entries, and summed.
  auto standardise = [&](std::vector<double>& table) {
    double mean = 0, square_sum = 0;
    for (std::size_t e = 0; e < n * n; ++e) mean += e / n == e % n ? 0.0 : table[e];
    mean /= double(n * (n - 1));
    for (std::size_t e = 0; e < n * n; ++e)
      square_sum += e / n == e % n ? 0.0 : (table[e] - mean) * (table[e] - mean);
    const double spread = std::sqrt(square_sum / double(n * (n - 1)));
    for (double& v : table) v = spread > 0 ? (v - mean) / spread : 0.0;
  };
  standardise(trace);
  standardise(units);
  std::vector<double> score(n * n);
  for (std::size_t e = 0; e < n * n; ++e) score[e] = trace[e] + units[e];
  // Pairs: the assignment that maximises the better of a pair's two orientations, no piece its
  // own partner; its 2-cycles are pairs, and pieces left in longer cycles are paired greedily,
  // the strongest first. Roles: the better orientation.
  auto both = [&](std::size_t i, std::size_t j) { return std::max(score[i * n + j], score[j * n + i]); };
  std::vector<double> cost(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j)
      cost[i * n + j] = i == j ? std::numeric_limits<double>::infinity() : -both(i, j);
  }
  const std::vector<std::size_t> partner = hungarian_min_cost(cost, n);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  std::vector<bool> paired(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = partner[i];
    if (j != i && partner[j] == i && i < j) {
      pairs.emplace_back(i, j);
      paired[i] = paired[j] = true;
    }
  }
  for (;;) {
    double best = -std::numeric_limits<double>::infinity();
    std::size_t best_i = n, best_j = n;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n && !paired[i]; ++j) {
        if (!paired[j] && (best_i == n || both(i, j) > best)) {
          best = both(i, j);
          best_i = i;
          best_j = j;
        }
      }
    }
    if (best_i == n) break;
    pairs.emplace_back(best_i, best_j);
    paired[best_i] = paired[best_j] = true;
  }
  HUMPTY_ASSERT(pairs.size() == n / 2);
  std::vector<Block> blocks;
  for (const auto& [a, b] : pairs) {
    blocks.push_back(score[a * n + b] >= score[b * n + a] ? Block{square[a], square[b]}
                                                          : Block{square[b], square[a]});
  }
  return blocks;
}

namespace {

// One split of the pieces into inps and outs, scored (data_role_guesses): ties go to the split
// met first (its task, then its place in the task), the same for any number of threads.
struct Split {
  double score = 0;
  std::size_t task = 0, index = 0;
  std::vector<Block> blocks;
};

bool better_split(const Split& a, const Split& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.task != b.task) return a.task < b.task;
  return a.index < b.index;
}

void keep_best(std::vector<Split>& best, Split split, std::size_t count) {
  if (best.size() == count && !better_split(split, best.back())) return;
  best.insert(std::upper_bound(best.begin(), best.end(), split, better_split), std::move(split));
  if (best.size() > count) best.pop_back();
}

}  // namespace

std::vector<double> first_order_coefficients(const Puzzle& puzzle, const Dataset& data,
                                             const std::vector<int>& inps, const std::vector<int>& outs,
                                             std::size_t rows, ThreadPool& pool) {
  const std::size_t d = puzzle.dim, h = puzzle.hidden, ni = inps.size(), no = outs.size();
  if (data.rows == 0 || ni == 0 || no == 0) return {};
  // The residual the blocks add up to, on spread rows: pred less the last layer on the input.
  const std::vector<std::size_t> spread = spread_rows(data.rows, rows);
  const std::size_t r_count = spread.size();
  const Layer& last = puzzle.pieces[std::size_t(puzzle.last_piece)];
  std::vector<double> residual(r_count);
  for (std::size_t r = 0; r < r_count; ++r) {
    const float* x = data.x.data() + spread[r] * data.features;
    double y = last.bias[0];
    for (std::size_t k = 0; k < d; ++k) y += double(last.weight[k]) * double(x[k]);
    residual[r] = data.pred[spread[r]] - y;
  }
  // A piece b as an out, read by the last layer: w . (W_b u + b_b) = (W_b^T w) . u + b_b . w.
  std::vector<std::vector<double>> read(no, std::vector<double>(h, 0.0));
  std::vector<double> read_bias(no, 0.0);
  for (std::size_t b = 0; b < no; ++b) {
    const Layer& layer = puzzle.pieces[std::size_t(outs[b])];
    HUMPTY_ASSERT(layer.rows == d && layer.cols == h);
    for (std::size_t i = 0; i < d; ++i) {
      const double wi = last.weight[i];
      read_bias[b] += double(layer.bias[i]) * wi;
      for (std::size_t u = 0; u < h; ++u) read[b][u] += double(layer.weight[i * h + u]) * wi;
    }
  }
  // The features, one per (inp, out) of different pieces, numbered in that order. Each inp runs
  // on the kernel, as the network would run it (d h a row: at d = 512 a double loop took seconds).
  std::vector<long> feature_of(ni * no, -1);
  std::size_t features = 0;
  for (std::size_t a = 0; a < ni; ++a) {
    for (std::size_t b = 0; b < no; ++b) {
      if (inps[a] != outs[b]) feature_of[a * no + b] = long(features++);
    }
  }
  const std::size_t padded = pad_to_panel(d);
  std::vector<float> inputs(r_count * padded);
  load_rows(data, spread, padded, inputs.data());
  std::vector<double> phi(features * r_count);
  pool.run(ni, [&](std::size_t a, int) {
    const PackedLinear layer = pack_linear(puzzle.pieces[std::size_t(inps[a])]);
    std::vector<float> hidden(r_count * layer.out_padded);
    linear_rows(layer, inputs.data(), padded, r_count, hidden.data(), layer.out_padded, Epilogue::relu);
    std::vector<double> u(h);
    for (std::size_t r = 0; r < r_count; ++r) {
      std::copy_n(hidden.data() + r * layer.out_padded, h, u.begin());
      for (std::size_t b = 0; b < no; ++b) {
        const long f = feature_of[a * no + b];
        if (f >= 0) phi[std::size_t(f) * r_count + r] = read_bias[b] + dot_sum(read[b].data(), u.data(), h);
      }
    }
  });
  // Ridge least squares on the Gram matrix (its lower triangle), each entry summed over the
  // rows in a fixed order (dot_sum).
  std::vector<double> gram(features * features, 0.0), beta(features, 0.0);
  pool.run(features, [&](std::size_t i, int) {
    const double* fi = phi.data() + i * r_count;
    for (std::size_t j = 0; j <= i; ++j)
      gram[i * features + j] = dot_sum(fi, phi.data() + j * r_count, r_count);
    beta[i] = dot_sum(fi, residual.data(), r_count);
  });
  double trace = 0;
  for (std::size_t i = 0; i < features; ++i) trace += gram[i * features + i];
  double ridge = 1e-3 * trace / double(features) + 1e-300;
  bool solved = false;
  const std::vector<double> gram_kept = gram, rhs = beta;
  for (int attempt = 0; attempt < 4 && !solved; ++attempt, ridge *= 100) {
    gram = gram_kept;
    beta = rhs;
    solved = cholesky_solve(gram, features, ridge, beta);
  }
  if (!solved) return {};
  std::vector<double> table(ni * no, 0.0);
  for (std::size_t e = 0; e < ni * no; ++e) {
    if (feature_of[e] >= 0) table[e] = beta[std::size_t(feature_of[e])];
  }
  return table;
}

std::vector<Block> data_pairs(const Puzzle& puzzle, const Dataset& data, std::size_t rows, std::size_t limit,
                              double lead_share, ThreadPool& pool) {
  const std::size_t n = puzzle.blocks();
  if (puzzle.square || n < 2 || n > limit || data.rows == 0) return {};
  const std::vector<double> table =
      first_order_coefficients(puzzle, data, puzzle.inp_pieces, puzzle.out_pieces, rows, pool);
  if (table.empty()) return {};
  std::vector<double> cost(n * n);
  for (std::size_t e = 0; e < n * n; ++e) cost[e] = -table[e];
  const std::vector<std::size_t> column = hungarian_min_cost(cost, n);
  // A chosen pair leads where its coefficient is the largest of its row and of its column.
  std::size_t leading = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = column[i];
    bool lead = true;
    for (std::size_t k = 0; k < n && lead; ++k) {
      lead =
          (k == j || table[i * n + k] < table[i * n + j]) && (k == i || table[k * n + j] < table[i * n + j]);
    }
    leading += lead;
  }
  if (double(leading) <= lead_share * double(n)) return {};
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < n; ++i) blocks.push_back({puzzle.inp_pieces[i], puzzle.out_pieces[column[i]]});
  return blocks;
}

std::vector<Assembly> data_role_guesses(const Puzzle& puzzle, const Dataset& data, std::size_t count,
                                        std::size_t rows, double split_limit, ThreadPool& pool) {
  std::vector<Assembly> guesses;
  std::vector<int> pieces = puzzle.inp_pieces;
  pieces.insert(pieces.end(), puzzle.out_pieces.begin(), puzzle.out_pieces.end());
  std::sort(pieces.begin(), pieces.end());
  const std::size_t m = pieces.size(), n = m / 2;
  if (!puzzle.square || count == 0 || data.rows == 0 || n < 2) return guesses;
  double splits = 1;
  for (std::size_t k = 0; k < n; ++k) splits = splits * double(m - k) / double(k + 1);
  if (splits > split_limit) return guesses;
  // Every ordered pair of pieces, one as the inp and the other as its out.
  const std::vector<double> table = first_order_coefficients(puzzle, data, pieces, pieces, rows, pool);
  if (table.empty()) return guesses;
  auto coefficient = [&](std::size_t a, std::size_t b) { return table[a * m + b]; };

  // Every split into n inps and n outs, by its best matching; one task per smallest inp.
  const std::size_t tasks = m - n + 1;
  std::vector<std::vector<Split>> kept(tasks);
  pool.run(tasks, [&](std::size_t task, int) {
    std::vector<std::size_t> ins(n);
    for (std::size_t k = 0; k < n; ++k) ins[k] = task + k;  // the first combination starting at `task`
    std::vector<double> cost(n * n);
    std::vector<std::size_t> outs;
    for (std::size_t index = 0;; ++index) {
      outs.clear();
      for (std::size_t p = 0, k = 0; p < m; ++p) {
        if (k < n && ins[k] == p) {
          ++k;
        } else {
          outs.push_back(p);
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) cost[i * n + j] = -coefficient(ins[i], outs[j]);
      }
      const std::vector<std::size_t> column = hungarian_min_cost(cost, n);
      Split split;
      split.task = task;
      split.index = index;
      for (std::size_t i = 0; i < n; ++i) {
        split.score -= cost[i * n + column[i]];
        split.blocks.push_back({pieces[ins[i]], pieces[outs[column[i]]]});
      }
      keep_best(kept[task], std::move(split), count);
      // The next combination with the same first element, in lexicographic order.
      std::size_t k = n;
      while (k > 1 && ins[k - 1] == m - n + k - 1) --k;
      if (k == 1) break;
      ++ins[k - 1];
      for (std::size_t j = k; j < n; ++j) ins[j] = ins[j - 1] + 1;
    }
  });
  std::vector<Split> best;
  for (std::vector<Split>& task : kept) {
    for (Split& split : task) keep_best(best, std::move(split), count);
  }
  for (Split& split : best) guesses.push_back({std::move(split.blocks), puzzle.last_piece});
  return guesses;
}

}  // namespace humpty
