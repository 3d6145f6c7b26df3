// Ordering blocks without data: the shortest path through the out-layer bias vectors, oriented
// by the biases' share along the last layer (else by the trend of ||W_out||_F), and the plain
// norm order that seeds the data search.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "assert.hpp"
#include "humpty/solve.hpp"
#include "moved.hpp"
#include "network.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace humpty {
namespace {

using Path = std::vector<std::size_t>;
using Distances = std::vector<double>;  // n x n

double path_length(const Path& path, const Distances& dist, std::size_t n) {
  double length = 0;
  for (std::size_t i = 1; i < path.size(); ++i) length += dist[path[i - 1] * n + path[i]];
  return length;
}

// Paths with n <= this are solved exactly (Held-Karp, O(2^n n^2)).
constexpr std::size_t kExactPathLimit = 12;

// The shortest Hamiltonian path (any start, any end) by dynamic programming over subsets.
Path exact_path(const Distances& dist, std::size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::size_t subsets = std::size_t(1) << n;
  std::vector<double> best(subsets * n, inf);
  std::vector<std::uint8_t> previous(subsets * n, 0);
  for (std::size_t v = 0; v < n; ++v) best[(std::size_t(1) << v) * n + v] = 0;
  for (std::size_t mask = 1; mask < subsets; ++mask) {
    for (std::size_t last = 0; last < n; ++last) {
      double here = best[mask * n + last];
      if (!(mask >> last & 1) || here == inf) continue;
      for (std::size_t next = 0; next < n; ++next) {
        if (mask >> next & 1) continue;
        std::size_t grown = mask | (std::size_t(1) << next);
        double length = here + dist[last * n + next];
        if (length < best[grown * n + next]) {
          best[grown * n + next] = length;
          previous[grown * n + next] = std::uint8_t(last);
        }
      }
    }
  }
  std::size_t mask = subsets - 1, last = 0;
  for (std::size_t v = 1; v < n; ++v) {
    if (best[mask * n + v] < best[mask * n + last]) last = v;
  }
  Path path;
  while (true) {
    path.push_back(last);
    std::size_t before = previous[mask * n + last];
    mask &= ~(std::size_t(1) << last);
    if (mask == 0) break;
    last = before;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// The k nearest other nodes of every node, nearest first (ties by index).
struct Neighbours {
  std::size_t k = 0;
  std::vector<std::size_t> list;  // n x k
  Neighbours(const Distances& dist, std::size_t n, std::size_t wanted) : k(std::min(wanted, n - 1)) {
    std::vector<std::size_t> others;
    for (std::size_t v = 0; v < n; ++v) {
      others.clear();
      for (std::size_t u = 0; u < n; ++u) {
        if (u != v) others.push_back(u);
      }
      std::stable_sort(others.begin(), others.end(),
                       [&](std::size_t a, std::size_t b) { return dist[v * n + a] < dist[v * n + b]; });
      list.insert(list.end(), others.begin(), others.begin() + std::ptrdiff_t(k));
    }
  }
  struct Range {
    const std::size_t* first;
    const std::size_t* last;
    const std::size_t* begin() const { return first; }
    const std::size_t* end() const { return last; }
  };
  Range of(std::size_t v) const { return {list.data() + v * k, list.data() + (v + 1) * k}; }
};
constexpr std::size_t kNeighbours = 6;

// Local search on an open path until no 2-opt (reverse a segment, ends included) or Or-opt (move
// a segment of 1 to 3 nodes elsewhere, either way round) move shortens it. First improvement in a
// fixed scan order, so the result depends only on the input.
void improve_path(Path& path, const Distances& dist, std::size_t n, const Neighbours& near) {
  auto d = [&](std::size_t a, std::size_t b) { return dist[path[a] * n + path[b]]; };
  const std::size_t m = path.size();
  std::vector<std::size_t> position(n);
  for (std::size_t k = 0; k < m; ++k) position[path[k]] = k;
  const double eps = 1e-12;
  bool improved = true;
  while (improved) {
    improved = false;
    // 2-opt: reverse path[i..j].
    for (std::size_t i = 0; i + 1 < m; ++i) {
      for (std::size_t j = i + 1; j < m; ++j) {
        double before = (i > 0 ? d(i - 1, i) : 0) + (j + 1 < m ? d(j, j + 1) : 0);
        double after = (i > 0 ? d(i - 1, j) : 0) + (j + 1 < m ? d(i, j + 1) : 0);
        if (after < before - eps) {
          std::reverse(path.begin() + std::ptrdiff_t(i), path.begin() + std::ptrdiff_t(j) + 1);
          for (std::size_t k = i; k <= j; ++k) position[path[k]] = k;
          improved = true;
        }
      }
    }
    // Or-opt: take path[i..j] (1 to 3 nodes) out and put it into gap g, between path[g-1] and
    // path[g] (gap 0 is the front, gap m the back), either way round.
    for (std::size_t len = 1; len <= 3 && len < m; ++len) {
      for (std::size_t i = 0; i + len <= m; ++i) {
        const std::size_t j = i + len - 1;
        const double removed = (i > 0 ? d(i - 1, i) : 0) + (j + 1 < m ? d(j, j + 1) : 0) -
                               (i > 0 && j + 1 < m ? d(i - 1, j + 1) : 0);
        double best_gain = eps;
        std::size_t best_gap = 0;
        bool best_reversed = false;
        // A move can only pay if a new edge is short, so only gaps next to a near neighbour of
        // one of the segment's ends are tried.
        for (std::size_t end : {i, j}) {
          for (std::size_t v : near.of(path[end])) {
            for (std::size_t g : {position[v], position[v] + 1}) {
              if (g >= i && g <= j + 1) continue;  // the segment's own place
              for (bool reversed : {false, true}) {
                std::size_t first = reversed ? j : i, second = reversed ? i : j;
                double added = (g > 0 ? d(g - 1, first) : 0) + (g < m ? d(second, g) : 0) -
                               (g > 0 && g < m ? d(g - 1, g) : 0);
                if (removed - added > best_gain) {
                  best_gain = removed - added;
                  best_gap = g;
                  best_reversed = reversed;
                }
              }
            }
          }
        }
        if (best_gain > eps) {
          auto at = [&](std::size_t k) { return path.begin() + std::ptrdiff_t(k); };
          std::size_t placed;
          if (best_gap < i) {
            std::rotate(at(best_gap), at(i), at(j + 1));
            placed = best_gap;
          } else {
            std::rotate(at(i), at(j + 1), at(best_gap));
            placed = best_gap - len;
          }
          if (best_reversed) std::reverse(at(placed), at(placed + len));
          for (std::size_t k = 0; k < m; ++k) position[path[k]] = k;
          improved = true;
        }
      }
    }
  }
}

// An undirected path read in its canonical direction (smaller end first), for comparisons.
Path canonical(Path path) {
  if (!path.empty() && path.back() < path.front()) std::reverse(path.begin(), path.end());
  return path;
}

// Nearest-neighbour paths are built from this many evenly spread start nodes.
constexpr std::size_t kPathStarts = 16;

// The shortest path found from nearest-neighbour starts at spread-out nodes, each improved
// locally (the starts in parallel, the best chosen in start order).
Path heuristic_path(const Distances& dist, std::size_t n, const Neighbours& near, ThreadPool& pool) {
  const std::size_t starts = std::min(n, kPathStarts);
  std::vector<Path> found(starts);
  pool.run(starts, [&](std::size_t s, int) {
    const std::size_t start = s * n / starts;
    Path path{start};
    std::vector<char> used(n, 0);
    used[start] = 1;
    for (std::size_t step = 1; step < n; ++step) {
      std::size_t from = path.back(), next = n;
      for (std::size_t v = 0; v < n; ++v) {
        if (!used[v] && (next == n || dist[from * n + v] < dist[from * n + next])) next = v;
      }
      used[next] = 1;
      path.push_back(next);
    }
    improve_path(path, dist, n, near);
    found[s] = canonical(path);
  });
  Path best;
  double best_length = std::numeric_limits<double>::infinity();
  for (const Path& path : found) {
    double length = path_length(path, dist, n);
    if (length < best_length - 1e-12 || (length <= best_length + 1e-12 && path < best)) {
      best_length = length;
      best = path;
    }
  }
  return best;
}

Path shortest_path(const Distances& dist, std::size_t n, const Neighbours& near, ThreadPool& pool) {
  if (n <= 2) {
    Path path(n);
    std::iota(path.begin(), path.end(), std::size_t(0));
    return path;
  }
  return n <= kExactPathLimit ? canonical(exact_path(dist, n)) : heuristic_path(dist, n, near, pool);
}

// Spearman's rank correlation of values with their positions 0..n-1 (ties ranked by index).
double rank_trend(const std::vector<double>& values) {
  const std::size_t n = values.size();
  if (n < 2) return 0;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  double sum = 0;
  for (std::size_t rank = 0; rank < n; ++rank) {
    double diff = double(rank) - double(order[rank]);
    sum += diff * diff;
  }
  double nn = double(n);
  return 1 - 6 * sum / (nn * (nn * nn - 1));
}

// How much of each block's out-layer bias lies along the last layer (its rows' span), as a share
// of the bias's norm, in [0, 1]; 0 for a zero bias.
//
// Why: a bias's gradient is the loss gradient of the stream after its block, summed over the rows.
// At the last block that gradient is the last layer's rows times the errors; every block in
// between turns it away from them. So the deeper a block, the more of its bias training put
// along the last layer. Unlike ||W_out||_F, which rises with depth in the published net (rank
// correlation +0.99) and falls in most nets `humpty generate` trains (-0.60 to -0.98 where it is
// clear), this follows from how gradients flow, and its trend along the true order is positive in
// both: published +0.67; the zero-bias nets of the hard suite and its reseeded copy +0.18 to
// +0.80 (b48-adam-zero-t3-120-s2 0.00), where the bias is nothing but those updates. Where
// biases start at PyTorch's random draws and training moved them little, the draw drowns it
// (|trend| <= 0.19 on the suites' other 16 nets, of either sign), as it drowns the path itself.
// With as many independent outputs as the stream has dimensions every share is 1: no evidence.
std::vector<double> readout_alignment(const Puzzle& puzzle, const std::vector<Block>& blocks) {
  const Layer& last = puzzle.pieces[std::size_t(puzzle.last_piece)];
  const std::size_t d = last.cols;
  // An orthonormal basis of the last layer's rows (modified Gram-Schmidt; rows in the span of
  // earlier ones, up to float rounding, are dropped).
  std::vector<std::vector<double>> basis;
  for (std::size_t o = 0; o < last.rows && basis.size() < d; ++o) {
    std::vector<double> v(last.weight.begin() + std::ptrdiff_t(o * d),
                          last.weight.begin() + std::ptrdiff_t((o + 1) * d));
    double original = 0;
    for (double x : v) original += x * x;
    for (const std::vector<double>& u : basis) {
      double dot = 0;
      for (std::size_t k = 0; k < d; ++k) dot += u[k] * v[k];
      for (std::size_t k = 0; k < d; ++k) v[k] -= dot * u[k];
    }
    double norm = 0;
    for (double x : v) norm += x * x;
    if (!(norm > 1e-10 * original)) continue;
    norm = std::sqrt(norm);
    for (double& x : v) x /= norm;
    basis.push_back(std::move(v));
  }
  std::vector<double> share(blocks.size(), 0);
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::vector<float>& bias = puzzle.pieces[std::size_t(blocks[b].out)].bias;
    HUMPTY_ASSERT(bias.size() == d);
    double total = 0, along = 0;
    for (float x : bias) total += double(x) * double(x);
    if (!(total > 0)) continue;
    for (const std::vector<double>& u : basis) {
      double dot = 0;
      for (std::size_t k = 0; k < d; ++k) dot += u[k] * double(bias[k]);
      along += dot * dot;
    }
    share[b] = std::sqrt(std::min(along / total, 1.0));
  }
  return share;
}

double frobenius(const Layer& layer) {
  double sum = 0;
  for (float w : layer.weight) sum += double(w) * double(w);
  return std::sqrt(sum);
}

// The length of the shortest path through the same biases with each coordinate's values shuffled
// across the blocks: the same spread, no chain. The mean over kShuffles shuffles, each from the
// project's generator at a fixed seed, so the result depends only on the biases. One is enough:
// with three the suites' ratios were 0.97-1.02 and 0.33-0.65, with one 0.95-1.02 and 0.33-0.65, and
// each costs about 1 ms at 48 blocks (the published net's solve without data takes 16-18 ms).
constexpr std::size_t kShuffles = 1;
// Below this many blocks the comparison is not made (and the path kept).
constexpr std::size_t kMinShuffledBlocks = 8;
// A path longer than this share of the shuffled biases' path is no chain (measured on the suites'
// nets: 0.95-1.02 where the biases kept PyTorch's draws, 0.33-0.65 where they chain; see
// order_by_chain's end).
constexpr double kNoChain = 0.85;
// The moved-weight order is used where at least this share of the blocks' shares differ (as
// SearchTuning::relax_prior_distinct: an untrained net's are all 0).
constexpr double kMovedDistinct = 0.5;
double shuffled_path_length(const std::vector<const std::vector<float>*>& biases, ThreadPool& pool) {
  const std::size_t n = biases.size(), d = biases.empty() ? 0 : biases[0]->size();
  double total = 0;
  for (std::size_t s = 0; s < kShuffles; ++s) {
    Rng rng(stream_seed(0x68756d707479ull, s));
    std::vector<double> values(n * d);
    std::vector<std::size_t> from(n);
    for (std::size_t k = 0; k < d; ++k) {
      std::iota(from.begin(), from.end(), std::size_t(0));
      for (std::size_t i = n; i > 1; --i) std::swap(from[i - 1], from[rng.below(i)]);
      for (std::size_t b = 0; b < n; ++b) values[b * d + k] = double((*biases[from[b]])[k]);
    }
    Distances dist(n * n, 0);
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t b = a + 1; b < n; ++b) {
        double sum = 0;
        for (std::size_t k = 0; k < d; ++k) {
          double diff = values[a * d + k] - values[b * d + k];
          sum += diff * diff;
        }
        dist[a * n + b] = dist[b * n + a] = std::sqrt(sum);
      }
    }
    const Neighbours near(dist, n, kNeighbours);
    total += path_length(shortest_path(dist, n, near, pool), dist, n);
  }
  return total / double(kShuffles);
}

// Reorders chain.order by the blocks' moved-weight shares (moved.hpp), most moved first, where at
// least kMovedDistinct of them differ (ties keep the order given), and says so in chain.by_moved;
// the trends are then along the new order.
void order_by_moved(const Puzzle& puzzle, ChainOrder& chain) {
  const std::size_t n = chain.order.size();
  const std::vector<double> moved = moved_shares(puzzle, chain.order);
  if (n == 0 || double(distinct_values(moved)) < kMovedDistinct * double(n)) return;
  std::vector<std::size_t> by_moved(n);
  std::iota(by_moved.begin(), by_moved.end(), std::size_t(0));
  std::stable_sort(by_moved.begin(), by_moved.end(),
                   [&](std::size_t a, std::size_t b) { return moved[a] > moved[b]; });
  std::vector<Block> order;
  std::vector<double> norms;
  for (std::size_t p : by_moved) {
    order.push_back(chain.order[p]);
    norms.push_back(frobenius(puzzle.pieces[std::size_t(chain.order[p].out)]));
  }
  chain.order = std::move(order);
  chain.by_moved = true;
  chain.norm_trend = rank_trend(norms);
  if (chain.by_bias) chain.bias_trend = rank_trend(readout_alignment(puzzle, chain.order));
}

}  // namespace

double moved_share(const Layer& layer) {
  const float bound = float(1 / std::sqrt(double(std::max<std::size_t>(layer.cols, 1))));
  std::size_t moved = 0;
  for (float w : layer.weight) moved += std::fabs(w) > bound;
  const std::size_t biases = layer.has_bias ? layer.bias.size() : 0;
  for (std::size_t r = 0; r < biases; ++r) moved += std::fabs(layer.bias[r]) > bound;
  return double(moved) / double(std::max<std::size_t>(layer.weight.size() + biases, 1));
}

std::vector<double> moved_shares(const Puzzle& puzzle, const std::vector<Block>& blocks) {
  std::vector<double> share(blocks.size());
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    share[b] = moved_share(puzzle.pieces[std::size_t(blocks[b].inp)]) +
               moved_share(puzzle.pieces[std::size_t(blocks[b].out)]);
  }
  return share;
}

std::size_t distinct_values(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return std::size_t(std::unique(values.begin(), values.end()) - values.begin());
}

std::vector<Block> order_by_out_norm(const Puzzle& puzzle, std::vector<Block> blocks) {
  std::vector<double> norm(puzzle.pieces.size(), 0);
  for (const Block& b : blocks) norm[std::size_t(b.out)] = frobenius(puzzle.pieces[std::size_t(b.out)]);
  std::sort(blocks.begin(), blocks.end(), [&](const Block& a, const Block& b) {
    double na = norm[std::size_t(a.out)], nb = norm[std::size_t(b.out)];
    return na != nb ? na < nb : a.out < b.out;
  });
  return blocks;
}

ChainOrder order_by_chain(const Puzzle& puzzle, const std::vector<Block>& blocks, int threads) {
  ThreadPool pool(threads);
  return order_by_chain(puzzle, blocks, pool);
}

ChainOrder order_by_chain(const Puzzle& puzzle, const std::vector<Block>& blocks, ThreadPool& pool) {
  const std::size_t n = blocks.size();
  ChainOrder chain;
  if (std::any_of(blocks.begin(), blocks.end(),
                  [&](const Block& b) { return !puzzle.pieces[std::size_t(b.out)].has_bias; })) {
    // Zero vectors are all at distance 0: any path would be "shortest", and saying so would
    // claim evidence there is none of.
    chain.by_bias = false;
    chain.order = order_by_out_norm(puzzle, blocks);
    std::vector<double> norms;
    for (const Block& b : chain.order) norms.push_back(frobenius(puzzle.pieces[std::size_t(b.out)]));
    chain.norm_trend = rank_trend(norms);
    // The norm's trend is the published net's fingerprint; in the nets of the suite without biases
    // (bench/hard-nobias.txt) ||W_out|| falls with depth (908-1714 of 1128-2016 pairs of blocks
    // inverted) and the moved shares order them (59-131 inverted, most moved first).
    order_by_moved(puzzle, chain);
    return chain;
  }
  Distances dist(n * n, 0);
  for (std::size_t a = 0; a < n; ++a) {
    const auto& ba = puzzle.pieces[std::size_t(blocks[a].out)].bias;
    for (std::size_t b = a + 1; b < n; ++b) {
      const auto& bb = puzzle.pieces[std::size_t(blocks[b].out)].bias;
      double sum = 0;
      for (std::size_t k = 0; k < ba.size(); ++k) {
        double diff = double(ba[k]) - double(bb[k]);
        sum += diff * diff;
      }
      dist[a * n + b] = dist[b * n + a] = std::sqrt(sum);
    }
  }
  const Neighbours near(dist, n, kNeighbours);
  Path path = shortest_path(dist, n, near, pool);
  chain.length = path_length(path, dist, n);
  chain.exact = n <= kExactPathLimit;

  // The runner-up: for each edge of the path, the shortest path without it; a different path
  // must leave out at least one of these edges, so the least of them is the second-best path
  // (exactly so when the searches are exact). Past kExactPathLimit both are local searches, and
  // one without an edge, started from the path, may end shorter than the path (9 of 12 random
  // bias sets of 48 blocks; b48-sgd-t3-40 and b64-sgd-120 by 0.13% and 0.32%). The path stays:
  // taken instead, that shorter path made worse search starts where the chain seeds the search
  // (b32-adamw-t3-120's full solve 0.13 s to 1.08 s, b64-adam-40's order-only 6.2 s to 19.4 s;
  // the bias path is a hint, its length no measure of rightness), and the report says so.
  chain.runner_up = std::numeric_limits<double>::infinity();
  const double barrier = (chain.length + 1) * double(n) * 16;
  std::vector<double> without_edge(path.size() > 1 ? path.size() - 1 : 0);
  pool.run(without_edge.size(), [&](std::size_t e, int) {
    Distances without = dist;
    without[path[e] * n + path[e + 1]] = without[path[e + 1] * n + path[e]] = barrier;
    Path other;
    if (n <= kExactPathLimit) {
      other = exact_path(without, n);
    } else {
      other = path;  // start from the best path, with the edge now forbidden
      improve_path(other, without, n, near);
    }
    without_edge[e] = path_length(other, without, n);
  });
  for (double length : without_edge) {
    if (length < barrier) chain.runner_up = std::min(chain.runner_up, length);
  }
  if (!std::isfinite(chain.runner_up)) chain.runner_up = chain.length;
  if (n >= kMinShuffledBlocks) {
    std::vector<const std::vector<float>*> biases;
    for (const Block& b : blocks) biases.push_back(&puzzle.pieces[std::size_t(b.out)].bias);
    const double shuffled = shuffled_path_length(biases, pool);
    chain.path_vs_shuffled = shuffled > 0 ? chain.length / shuffled : 1.0;
  }

  // The direction: the out-biases' alignment with the last layer rises with depth
  // (readout_alignment), unless every block has the same share (zero biases, or as many outputs as
  // dimensions): then ||W_out||_F rises, the published net's fingerprint. Measured on the 24 nets
  // of the hard suite and its reseeded copy (`solve` without data): the norm oriented 7 of the 8
  // zero-bias nets' paths backwards (b48-adam-zero-t3-120's path is its order exactly, and came
  // out reversed; b64-adam-zero-120-s2's 6 of 2016 pairs of blocks from it), the alignment 7 of
  // 8 the right way (the eighth at a trend of 0.11, a guess); the published net's either way.
  const std::vector<double> share = readout_alignment(puzzle, blocks);
  std::vector<double> shares(n), norms(n);
  for (std::size_t p = 0; p < n; ++p) {
    shares[p] = share[path[p]];
    norms[p] = frobenius(puzzle.pieces[std::size_t(blocks[path[p]].out)]);
  }
  // (Shares that differ only by rounding - 1 - 1e-16 for a spanning last layer - do not vary.)
  const auto [low, high] = std::minmax_element(shares.begin(), shares.end());
  const bool varies = n > 0 && *high - *low > 1e-6;
  chain.bias_trend = varies ? rank_trend(shares) : 0.0;
  chain.norm_trend = rank_trend(norms);
  chain.by_readout = chain.bias_trend != 0;
  if ((chain.by_readout ? chain.bias_trend : chain.norm_trend) < 0) {
    std::reverse(path.begin(), path.end());
    chain.bias_trend = -chain.bias_trend;
    chain.norm_trend = -chain.norm_trend;
  }
  for (std::size_t p : path) chain.order.push_back(blocks[p]);

  // Where the biases hold no chain - their path no shorter than through the same biases shuffled
  // coordinate by coordinate - the path is as good as a random order, and so is its direction.
  // Measured (`solve` without data): the nets of the hard suite and its reseeded copy whose biases
  // kept PyTorch's random draws, and PyTorch's own such nets, have paths at 0.95-1.02 of the
  // shuffled biases' and their true orders' paths as long as a random order's (no chain at all),
  // their paths' orders 187-1045 of 496-2016 pairs of blocks inverted (chance); the zero-bias nets
  // and the published one are at 0.33-0.65, their true orders as short as the paths. Where there is
  // no chain, the moved-weight shares still track depth (moved.hpp; rank correlation -0.34 to
  // -0.99 on 28 of the three suites' 30 nets, the most moved block first: training from PyTorch's
  // initialisation moves the shallow blocks most; but +0.41 and +0.02 on b64-adamw-t3-40 and its
  // reseeded copy, and +0.97 in the published net, whose biases do chain), so the order is
  // theirs, most moved first: a guess, and said so. Without data, pairs of blocks inverted on
  // those 20 nets: 11,938 of 24,984 by the path, 7,708 by the shares.
  if (chain.path_vs_shuffled > kNoChain) order_by_moved(puzzle, chain);
  return chain;
}

Result<std::vector<Block>> order_by_update_norm(const Puzzle& puzzle, const Dataset& data, std::vector<Block> blocks,
                                                int threads) {
  ThreadPool pool(threads);
  return order_by_update_norm(puzzle, data, std::move(blocks), pool);
}

Result<std::vector<Block>> order_by_update_norm(const Puzzle& puzzle, const Dataset& data, std::vector<Block> blocks,
                                                ThreadPool& pool) {
  if (Status status = check_data(puzzle, data); !status) return status;
  for (const Block& block : blocks) {
    const auto n = int(puzzle.pieces.size());
    if (block.inp < 0 || block.inp >= n || block.out < 0 || block.out >= n ||
        !puzzle.can_play(block.inp, Role::inp) || !puzzle.can_play(block.out, Role::out)) {
      return Status::failure("order_by_update_norm: block (" + std::to_string(block.inp) + ", " +
                             std::to_string(block.out) + ") is not an inp and an out piece of the puzzle");
    }
  }
  const std::size_t rows = std::min<std::size_t>(data.rows, 512), dim = puzzle.dim;
  const std::size_t dim_padded = pad_to_panel(dim), hidden_padded = pad_to_panel(puzzle.hidden);
  std::vector<double> size(blocks.size());
  // Each block on its own: its sum does not depend on which thread computed it.
  pool.run(blocks.size(), [&](std::size_t b, int) {
    const PackedLinear inp = pack_linear(puzzle.pieces[std::size_t(blocks[b].inp)]);
    const PackedLinear out = pack_linear(puzzle.pieces[std::size_t(blocks[b].out)]);
    std::vector<float> stream(kChunkRows * dim_padded), hidden(kChunkRows * hidden_padded);
    double sum = 0;
    for (std::size_t first = 0; first < rows; first += kChunkRows) {
      std::size_t count = std::min(kChunkRows, rows - first);
      load_rows(data, first, count, dim_padded, stream.data());
      run_block(inp, out, stream.data(), count, hidden.data());
      for (std::size_t r = 0; r < count; ++r) {
        // Four partial sums: one running sum would wait for each add in turn.
        const float* x = data.x.data() + (first + r) * data.features;
        const float* after = stream.data() + r * dim_padded;
        double part[4] = {0, 0, 0, 0};
        for (std::size_t k = 0; k < dim; ++k) {
          double update = double(after[k]) - double(x[k]);
          part[k % 4] += update * update;
        }
        sum += (part[0] + part[1]) + (part[2] + part[3]);
      }
    }
    size[b] = sum;
  });
  std::vector<std::size_t> order(blocks.size());
  for (std::size_t b = 0; b < order.size(); ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return size[a] < size[b]; });
  std::vector<Block> sorted;
  for (std::size_t b : order) sorted.push_back(blocks[b]);
  return sorted;
}

}  // namespace humpty
