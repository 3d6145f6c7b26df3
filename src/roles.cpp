// Roles of square pieces (d == h) from their weights: which pieces pair, and which of a pair is
// the inp layer (roles.hpp).
#include "roles.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "assert.hpp"
#include "hungarian.hpp"
#include "kernels.hpp"
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

}  // namespace humpty
