// Pairing inp with out layers by how much W_out W_in looks like a multiple of the identity (a
// negative one above all), by how the units' largest weights agree on the two sides, and, where
// the biases were trained from zero, by how the inp bias follows W_out^T b_out.
#include "pairing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "assert.hpp"
#include "buffer.hpp"
#include "humpty/solve.hpp"
#include "hungarian.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace humpty {
namespace {

// Writes the upper triangle (row by row, diagonal included) of the Gram matrix G[a][b] = t_a . t_b
// of the rows of t (count x width) to out, with the off-diagonal entries multiplied by
// `off_diagonal`. With off_diagonal = 2 on one side, the dot product of two such triangles is the
// Frobenius inner product of the two symmetric matrices, at half the cost of the full ones.
void gram_triangle(const float* t, std::size_t count, std::size_t width, float off_diagonal,
                   std::vector<float>& full, float* out) {
  PackedLinear packed = pack_rows(t, count, width, width);
  full.resize(count * packed.out_padded);
  linear_rows(packed, t, width, count, full.data(), packed.out_padded, Epilogue::store);
  for (std::size_t a = 0; a < count; ++a) {
    const float* g = full.data() + a * packed.out_padded;
    *out++ = g[a];
    for (std::size_t b = a + 1; b < count; ++b) *out++ = off_diagonal * g[b];
  }
}

// out[i * b.out + j] = row i of a . row j of b's matrix, a few rows of a per task.
std::vector<float> row_dots(const float* a, std::size_t a_count, const PanelView& b, ThreadPool& pool) {
  constexpr std::size_t kRowsPerTask = 8;
  std::vector<float> out(a_count * b.out_padded);
  pool.run((a_count + kRowsPerTask - 1) / kRowsPerTask, [&](std::size_t task, int) {
    std::size_t first = task * kRowsPerTask, count = std::min(kRowsPerTask, a_count - first);
    linear_rows(b, a + first * b.in, b.in, count, out.data() + first * b.out_padded, b.out_padded,
                Epilogue::store);
  });
  std::vector<float> dense(a_count * b.out);
  for (std::size_t i = 0; i < a_count; ++i)
    std::copy_n(out.data() + i * b.out_padded, b.out, dense.data() + i * b.out);
  return dense;
}

// The table's entries as z-values over the whole table (zeros for a constant table).
std::vector<double> standardised(const std::vector<double>& table) {
  double mean = 0, square = 0;
  for (double v : table) mean += v;
  mean /= double(std::max<std::size_t>(table.size(), 1));
  for (double v : table) square += (v - mean) * (v - mean);
  const double spread = std::sqrt(square / double(std::max<std::size_t>(table.size(), 1)));
  std::vector<double> z(table.size(), 0.0);
  for (std::size_t k = 0; k < table.size(); ++k) z[k] = spread > 0 ? (table[k] - mean) / spread : 0.0;
  return z;
}

}  // namespace

// unit_tails (pairing.hpp): the top few and not the norm: a unit's training shows in its tail (the initial
// weights are bounded, the moved ones leave the bound), the norm is dominated by the initial weights (tried:
// row and column norms pair 1 of 64 right on b64-adam-40; the largest two 49 with the trace score,
// the largest one 48, three 46, five 41; with the inp unit's bias among its weights, two: 51).
std::vector<double> unit_tails(const Layer& layer, bool units_are_rows) {
  // The two largest |w| of every unit at once, the weights read in memory order (an out layer's
  // units are its columns: a column at a time would stride through it).
  const std::size_t units = units_are_rows ? layer.rows : layer.cols;
  std::vector<float> first(units, 0.0f), second(units, 0.0f);
  // Branch-free (the same two values as comparing and shifting: a new largest pushes the old one
  // down, anything else competes for second): with random weights the branches mispredicted often
  // enough to make this 6% of a run without data.
  auto offer = [&](std::size_t u, float w) {
    w = std::fabs(w);
    const float high = std::max(first[u], w), low = std::min(first[u], w);
    second[u] = std::max(second[u], low);
    first[u] = high;
  };
  for (std::size_t r = 0; r < layer.rows; ++r) {
    const float* row = layer.weight.data() + r * layer.cols;
    for (std::size_t c = 0; c < layer.cols; ++c) offer(units_are_rows ? r : c, row[c]);
    if (units_are_rows) offer(r, layer.bias[r]);  // an inp unit's bias moves with its weights
  }
  // One weight only (an out layer of d = 1): its largest is all there is.
  const bool one = !units_are_rows && layer.rows < 2;
  std::vector<double> tail(units);
  for (std::size_t u = 0; u < units; ++u) tail[u] = one ? double(first[u]) : (double(first[u]) + double(second[u])) / 2;
  double mean = 0, norm = 0;
  for (double t : tail) mean += t;
  mean /= double(std::max<std::size_t>(units, 1));
  for (double& t : tail) {
    t -= mean;
    norm += t * t;
  }
  norm = std::sqrt(norm);
  for (double& t : tail) t = norm > 0 ? t / norm : 0.0;
  return tail;
}

namespace {

// Pairing::biases: cos(b_in, W_out^T b_out) over the hidden units, 0 where either side is zero.
//
// Why: a unit's inp bias moves by the gradient reaching the unit, W_out[:, u] . g summed over
// the rows where it is active, and the out bias by g summed over all rows; so where both started
// at zero, the inp bias is about (the unit's active share) x W_out^T b_out, unit by unit. Measured
// (Python, the suites' files): alone it pairs the zero-bias nets 30-48 of 32-64 right - PyTorch's
// own SGD-with-momentum net (`bench/torchnet.py --zero-bias`) 32 of 32, where the weight score
// pairs 10 - and nets with PyTorch's random initial biases at chance (0-9 of 32-64), the draw
// drowning the update, the published net's too (3 of 48).
std::vector<double> bias_scores(const Puzzle& puzzle, ThreadPool& pool) {
  const std::size_t n = puzzle.blocks(), d = puzzle.dim, h = puzzle.hidden;
  std::vector<std::vector<double>> pulled(n);  // W_out^T b_out, unit length (or zero)
  pool.run(n, [&](std::size_t o, int) {
    const Layer& w = puzzle.pieces[std::size_t(puzzle.out_pieces[o])];  // d x h
    std::vector<double> v(h, 0.0);
    for (std::size_t r = 0; r < d; ++r) {
      const double b = w.bias[r];
      for (std::size_t a = 0; a < h; ++a) v[a] += b * double(w.weight[r * h + a]);
    }
    double norm = 0;
    for (double x : v) norm += x * x;
    if (norm > 0) {
      norm = std::sqrt(norm);
      for (double& x : v) x /= norm;
    }
    pulled[o] = std::move(v);
  });
  std::vector<double> scores(n * n, 0.0);
  pool.run(n, [&](std::size_t i, int) {
    const std::vector<float>& b = puzzle.pieces[std::size_t(puzzle.inp_pieces[i])].bias;
    double norm = 0;
    for (float x : b) norm += double(x) * double(x);
    if (!(norm > 0)) return;
    norm = std::sqrt(norm);
    for (std::size_t o = 0; o < n; ++o) {
      double dot = 0;
      for (std::size_t a = 0; a < h; ++a) dot += double(b[a]) * pulled[o][a];
      scores[i * n + o] = dot / norm;
    }
  });
  return scores;
}

// The share of the inp layers' bias values within a quarter of PyTorch's initial bound,
// 1 / sqrt(d): a quarter of them when they are still its uniform draws.
double small_bias_share(const Puzzle& puzzle) {
  const double bound = 1 / std::sqrt(double(puzzle.dim));
  std::size_t small = 0, count = 0;
  for (int k : puzzle.inp_pieces) {
    for (float x : puzzle.pieces[std::size_t(k)].bias) {
      small += std::fabs(double(x)) < bound / 4;
      ++count;
    }
  }
  return count > 0 ? double(small) / double(count) : 0.0;
}

// Whether the biases look trained from zero rather than from PyTorch's uniform draws: the share
// within a quarter of the bound well above the draws' quarter (by 0.15, and by four standard
// deviations of a binomial count, for small nets), and some bias not zero. Why a gate: with the
// draws still in the biases the score is noise, and at full weight it cost pairs the weight
// score had right (b32-adam-40 30 to 25 of 32, b64-adam-40 54 to 51 of 64, its reseeded copy 38
// to 29, PyTorch's 48-block AdamW net 48 to 45). The suites' default-bias nets have shares of
// 0.22-0.28 (the published net 0.24); the zero-bias ones 0.49-1.00, but for the two trained 120
// epochs by Adam on t3 inputs (0.25 and 0.33), whose biases grew past the bound and whose weight
// score pairs them all right anyway.
bool biases_moved_from_zero(const Puzzle& puzzle, double share) {
  double count = 0;
  bool any = false;
  for (int k : puzzle.inp_pieces) {
    const std::vector<float>& bias = puzzle.pieces[std::size_t(k)].bias;
    count += double(bias.size());
    any = any || std::any_of(bias.begin(), bias.end(), [](float x) { return x != 0.0f; });
  }
  if (!any || count == 0) return false;
  const double spread = std::sqrt(0.25 * 0.75 / count);
  return share >= 0.25 + std::max(0.15, 4 * spread);
}

// The assignment and what is reported of it, from the pairing's tables: the combined score's best
// assignment of the inps whose out is not `forced` (forced[i]: out column of inp row i, or -1),
// each chosen pair's scores, its lead over its rivals and its sureness.
void choose_pairs(Pairing& pairing, const Puzzle& puzzle, const std::vector<int>& forced) {
  const std::size_t n = puzzle.blocks();
  HUMPTY_ASSERT(forced.size() == n && pairing.combined.size() == n * n);
  std::vector<std::size_t> chosen(n), free_rows, free_columns;
  std::vector<char> taken(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (forced[i] >= 0) {
      chosen[i] = std::size_t(forced[i]);
      HUMPTY_ASSERT(chosen[i] < n && !taken[chosen[i]]);
      taken[chosen[i]] = 1;
    } else {
      free_rows.push_back(i);
    }
  }
  for (std::size_t o = 0; o < n; ++o) {
    if (!taken[o]) free_columns.push_back(o);
  }
  const std::size_t m = free_rows.size();
  std::vector<double> cost(m * m);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < m; ++c)
      cost[r * m + c] = -pairing.combined[free_rows[r] * n + free_columns[c]];
  }
  const std::vector<std::size_t> column = hungarian_min_cost(cost, m);
  for (std::size_t r = 0; r < m; ++r) chosen[free_rows[r]] = free_columns[column[r]];

  pairing.blocks.clear();
  pairing.scores.clear();
  pairing.unit_scores.clear();
  pairing.leads.clear();
  pairing.is_sure.clear();
  pairing.is_given.clear();
  pairing.sure = pairing.given = 0;
  pairing.best_rejected = 0;
  pairing.worst_chosen = n > 0 ? pairing.table[chosen[0]] : 0;
  for (std::size_t i = 0; i < n; ++i) {
    double score = pairing.table[i * n + chosen[i]];
    pairing.blocks.push_back({puzzle.inp_pieces[i], puzzle.out_pieces[chosen[i]]});
    pairing.scores.push_back(score);
    pairing.unit_scores.push_back(pairing.units[i * n + chosen[i]]);
    double lead = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
      if (k != chosen[i])
        lead = std::min(lead, pairing.combined[i * n + chosen[i]] - pairing.combined[i * n + k]);
      if (k != i)
        lead = std::min(lead, pairing.combined[i * n + chosen[i]] - pairing.combined[k * n + chosen[i]]);
    }
    pairing.leads.push_back(lead);
    pairing.worst_chosen = std::min(pairing.worst_chosen, score);
    double rival = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (k != chosen[i]) rival = std::max(rival, pairing.table[i * n + k]);
      if (k != i) rival = std::max(rival, pairing.table[k * n + chosen[i]]);
    }
    // The ratio alone is not enough: in a 64 x 64 table of chance scores (briefly trained
    // networks) an entry 1.5 times its row and column comes up by chance (3.1 and 3.5 noise
    // levels in two SGD nets of the hard suite), and a wrong sure pair costs the search dearly:
    // b64-sgd-120 started from its own answer took 7 s instead of none. Beyond 4.5 noise levels
    // a chance entry comes up in about one 64 x 64 table in 35; the right sure pairs of the
    // suite's other nets lie at 3.1-40 (a fifth of them below 4.5 lose their sureness).
    pairing.is_sure.push_back(score >= Pairing::kSureRatio * rival &&
                              score >= Pairing::kSureNoise * pairing.noise);
    pairing.sure += pairing.is_sure.back();
    pairing.is_given.push_back(forced[i] >= 0);
    pairing.given += pairing.is_given.back();
    for (std::size_t o = 0; o < n; ++o) {
      if (o != chosen[i]) pairing.best_rejected = std::max(pairing.best_rejected, pairing.table[i * n + o]);
    }
  }
}

}  // namespace

Pairing pair_layers(const Puzzle& puzzle, int threads) {
  ThreadPool pool(threads);
  return pair_layers(puzzle, pool);
}

Pairing pair_layers(const Puzzle& puzzle, ThreadPool& pool) {
  const std::size_t n = puzzle.blocks(), d = puzzle.dim, h = puzzle.hidden;
  const std::size_t triangle = h * (h + 1) / 2;
  // trace(W_out W_in) = <W_out, W_in^T>, and ||W_out W_in||_F^2 = <W_out^T W_out, W_in W_in^T>:
  // one Gram matrix per layer (h x h), then all pairs at once as dot products of flattened
  // matrices, never forming the n^2 products themselves.
  // Megabytes, every value written below before it is read: not zeroed first. One buffer, from a
  // megabyte on rounded up to the 4 MB that buffer.hpp asks huge pages for: as separate vectors of
  // 0.9 MB each (published net), faulted in 4 kB at a time, they cost ~7 ms of a 40 ms
  // whole-process solve without data on the development VM (humpty_timeit, medians of 11, three
  // rounds: 39-41 ms before, 32-34 ms after). The out sides are packed for the kernel inside it
  // too: packed into two fresh vectors they cost 2.3 ms each, nearly all of it faulting them in
  // (0.1 ms into memory already touched). Same values either way; small nets keep their size.
  using Floats = std::vector<float, UnsetAllocator<float>>;
  const std::size_t padded = pad_to_panel(n), flat = n * d * h, grams = n * triangle;
  const std::size_t needed = flat + 2 * grams + padded * (d * h + triangle + 1);
  constexpr std::size_t huge = UnsetAllocator<float>::kHugeBytes / sizeof(float);
  Floats arena(needed >= huge / 4 ? std::max(needed, huge) : needed);
  float* const inp_t_flat = arena.data();                     // n x (d h): each inp's W^T
  float* const out_gram = inp_t_flat + flat;                  // n x triangle: W^T W, doubled off the diagonal
  float* const inp_gram = out_gram + grams;                   // n x triangle: W W^T
  float* const out_panels = inp_gram + grams;                 // the out layers, packed as rows
  float* const out_gram_panels = out_panels + padded * d * h; // their Gram triangles, packed
  float* const zeros = out_gram_panels + padded * triangle;   // the packed layers' bias
  std::fill(zeros, zeros + padded, 0.0f);
  struct Scratch {
    std::vector<float> full, columns;
  };
  std::vector<Scratch> scratch(std::size_t(pool.size()));
  // Task 0: the out layers packed, the largest task, so first (the pool hands tasks out in order);
  // task 1 + k: out layer k's Gram matrix; task 1 + n + i: inp layer i's. Each writes only its own
  // part.
  pool.run(2 * n + 1, [&](std::size_t task, int worker) {
    Scratch& s = scratch[std::size_t(worker)];
    if (task == 0) {
      std::vector<const float*> rows(n);
      for (std::size_t k = 0; k < n; ++k) rows[k] = puzzle.pieces[std::size_t(puzzle.out_pieces[k])].weight.data();
      pack_rows_into(out_panels, rows.data(), n, d * h);
      return;
    }
    --task;
    if (task < n) {
      const Layer& w = puzzle.pieces[std::size_t(puzzle.out_pieces[task])];  // d x h
      s.columns.resize(d * h);
      for (std::size_t r = 0; r < d; ++r) {
        for (std::size_t a = 0; a < h; ++a) s.columns[a * d + r] = w.weight[r * h + a];
      }
      gram_triangle(s.columns.data(), h, d, 2.0f, s.full, out_gram + task * triangle);  // W^T W
    } else {
      const std::size_t i = task - n;
      const Layer& w = puzzle.pieces[std::size_t(puzzle.inp_pieces[i])];  // h x d
      float* t = inp_t_flat + i * d * h;                                  // W^T, d x h
      for (std::size_t a = 0; a < h; ++a) {
        for (std::size_t c = 0; c < d; ++c) t[c * h + a] = w.weight[a * d + c];
      }
      gram_triangle(w.weight.data(), h, d, 1.0f, s.full, inp_gram + i * triangle);  // W W^T
    }
  });
  std::vector<const float*> gram_rows(n);
  for (std::size_t k = 0; k < n; ++k) gram_rows[k] = out_gram + k * triangle;
  pack_rows_into(out_gram_panels, gram_rows.data(), n, triangle);
  std::vector<float> traces = row_dots(inp_t_flat, n, {out_panels, zeros, d * h, n, padded}, pool);
  std::vector<float> norms2 = row_dots(inp_gram, n, {out_gram_panels, zeros, triangle, n, padded}, pool);

  // -trace(P) / ||P||_F: its size is the table (sureness, the reported scores), and its sign its
  // own score in the assignment, as right pairs lean negative (Pairing::kSignedWeight).
  Pairing pairing;
  pairing.table.resize(n * n);
  std::vector<double> damping(n * n);
  for (std::size_t k = 0; k < n * n; ++k) {
    double norm = std::sqrt(std::max(0.0, double(norms2[k])));
    damping[k] = norm > 0 ? -double(traces[k]) / norm : 0.0;
    pairing.table[k] = std::fabs(damping[k]);
  }
  std::vector<std::vector<double>> inp_tails(n), out_tails(n);
  pool.run(2 * n, [&](std::size_t task, int) {
    if (task < n) {
      out_tails[task] = unit_tails(puzzle.pieces[std::size_t(puzzle.out_pieces[task])], false);
    } else {
      inp_tails[task - n] = unit_tails(puzzle.pieces[std::size_t(puzzle.inp_pieces[task - n])], true);
    }
  });
  pairing.units.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t o = 0; o < n; ++o) {
      double dot = 0;
      for (std::size_t u = 0; u < h; ++u) dot += inp_tails[i][u] * out_tails[o][u];
      pairing.units[i * n + o] = dot;
    }
  }
  // The biases' score (Pairing::biases), and whether it joins the assignment.
  pairing.biases = bias_scores(puzzle, pool);
  pairing.bias_share = small_bias_share(puzzle);
  pairing.bias_score_used = biases_moved_from_zero(puzzle, pairing.bias_share);
  const std::vector<double> size_z = standardised(pairing.table), damping_z = standardised(damping),
                            units_z = standardised(pairing.units), biases_z = standardised(pairing.biases);
  const double bias_weight = pairing.bias_score_used ? Pairing::kBiasWeight : 0.0;
  pairing.combined.resize(n * n);
  for (std::size_t k = 0; k < n * n; ++k) {
    pairing.combined[k] = Pairing::kSizeWeight * size_z[k] + Pairing::kSignedWeight * damping_z[k] +
                          units_z[k] + bias_weight * biases_z[k];
  }
  // The table's noise level: at most n of its n^2 entries are right pairs, so its median is that
  // of the wrong ones. A wrong pair's P is a product of two unrelated matrices, whose trace over
  // ||P||_F is about a normal variate over sqrt(d): the median of |N(0, s)| is 0.6745 s.
  if (n > 0) {
    std::vector<double> sorted = pairing.table;
    std::nth_element(sorted.begin(), sorted.begin() + std::ptrdiff_t(sorted.size() / 2), sorted.end());
    pairing.noise = sorted[sorted.size() / 2] / 0.6745;
  }
  choose_pairs(pairing, puzzle, std::vector<int>(n, -1));
  return pairing;
}

Pairing with_given_pairs(const Puzzle& puzzle, Pairing pairing, const std::vector<Block>& given) {
  const std::size_t n = puzzle.blocks();
  HUMPTY_ASSERT(check_roles(puzzle, given, "given pair"));
  std::vector<std::size_t> row(puzzle.pieces.size(), n), column(puzzle.pieces.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    row[std::size_t(puzzle.inp_pieces[i])] = i;
    column[std::size_t(puzzle.out_pieces[i])] = i;
  }
  std::vector<int> forced(n, -1);
  for (const Block& block : given) {
    HUMPTY_ASSERT(row[std::size_t(block.inp)] < n && column[std::size_t(block.out)] < n);
    forced[row[std::size_t(block.inp)]] = int(column[std::size_t(block.out)]);
  }
  choose_pairs(pairing, puzzle, forced);
  return pairing;
}

}  // namespace humpty
