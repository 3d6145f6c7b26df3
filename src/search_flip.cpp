// Flips: near the answer, when the descent is stuck, which pairs of blocks run in the wrong
// relative order, found all at once by a regression of the error on every pair's predicted effect
// of trading places (overview in search_engine.hpp).
//
// Why: deep in a network the blocks nearly commute, and a descent can stop close to the answer in
// a pit that no single move leaves. Measured on the hard suite's b48-adam-zero-t3-120 trained with
// another seed (207): the search reached MSE/var 7.6e-5 in 1.3 s with every pair right and then
// nothing in 60 s. 15 blocks of the deep half were misplaced (26 inverted pairs); every swap and
// insertion from there made the error worse (the least by 1.1e-9), and the way to the answer climbs
// to 2.5 times that error. A beam over the misplaced blocks' prefixes (the rest kept in order,
// 16 wide) lost the right prefix at its fifth block, ranked 196th of 256. The regression below
// picked 8 of the 26 inverted pairs and no other; ordered by them, then again from each new order,
// 26 inversions went to 19, 14, 5, 2, 1 and 0 (exact), the error rising to 1.9e-4 on the way
// (Python on 2048 rows with the pairs among the last 20 positions; with all 1128 pairs on 4096
// rows the same to 1 inversion in six rounds). In the search: 28 inversions picked in 3 rounds,
// all right, exact in 4.7 s.
//
// Model: for blocks a before b (positions p < q), running b before a instead changes the output by
// about u_{q+1} . (A(B(x)) - B(A(x))) with x the stream before p, A(x) = x + f_a(x), and u_{q+1} the
// sensitivity of the output to the stream after q: for neighbours that is exact to first order in
// u, for pairs further apart an approximation that held near the answer. The changes of several
// inversions add up to first order, so the error's negative, pred - y, is regressed on every
// pair's predicted change (least squares on the flip rows), and the pairs with a coefficient above
// flip_threshold are the ones to invert. Each block is then ranked by how many blocks it runs
// before (inversions applied), the new order tried the same way, up to flip_rounds times while
// pairs are picked; the chain's best order on the flip rows becomes the current assembly (a new
// start even where the subset rows score it worse than the best, like a relaxation's rounding;
// on the way the error may rise before it falls, so each order is not judged alone).
//
// How far from the answer the chain works (measured 2026-12-03, 2048 rows): it also brings in
// orders the MSE no longer tells apart. b48-sgd-t3-40-s2 given its pairs stopped at MSE/var 0.13-
// 0.19, 83-121 inversions; from there the error wandered (0.19, 0.46, 0.26, 0.35 ... 0.09) while
// the inversions fell round by round (121, 103, 83, 64, 62, 65, 54, 60, 38, 24, 10, 0): exact in 11
// rounds. On b64-adam-40's full solve at 197 inversions they fell to 117 in 25 rounds; on
// b64-sgd-120 (600 inversions) and b64-adamw-t3-40-s2 (765) they did not fall, and from
// b64-sgd-120's answer with Gaussian position noise of width 4 (136) they rose. Hence the chain
// runs once per best below flip_below = 0.3 and takes the turn before a relaxation (search_engine.cpp);
// earlier (flip_below 1e-3, annealing's turn only) it never ran on the hard suite. But above
// flip_near = 1e-3 only once a search (flip_far_chains): on b64-adam-40's full solve a chain from
// every new best climbed for most of its 12 rounds each time (three chains, 36 rounds, in a 50 s
// solve at seed 2), and the solve took 33, 25 and 50 s at seeds 24301, 1 and 2, with one far
// chain 28, 24 and 40 s, with none 21, 16 and 17 s; b48-sgd-t3-40-s2 needs its one. That one
// ran at MSE/var 0.16; b64-adam-40's (at 0.06, 8.5 s) found no new best, and the descent still
// moved there: so a far chain starts only at or above flip_far_above = 0.1, where the MSE no
// longer tells orders apart (b64-adam-40 then 25.6, 15.3 and 14.5 s at those seeds). The level
// alone does not say when a chain pays: b96-adamw-120's full solve had one at 0.013 that did
// (exact in 60.4 s with it, 110.5 s without; at seed 1 neither in 120 s). Nor do the picks, early
// on: round by round the chains that paid picked 21, 16, 16, 9, 8, 2, 2 (an untrained 48-block
// net), 78, 71, 65, 46, 43, 51, 41 ... 10 (b48-sgd-t3-40-s2) and 86, 110, 89, 90, 79, 90, 87, 67
// ... 31 (b96-adamw-120), the one that did not 50, 35, 26, 40, 38, 35 ... 30 (b64-adam-40). So
// below flip_far_above the far chain waits for flip_far_stale = 2 rounds without a new best,
// when the descent has stopped moving as well: the untrained 48-block net (MSE/var 0.031, 45
// inversions, stuck from 5.7 s) is then exact in 14 s, b64-adam-40 never waits that long there.
//
// Cost per round: per pair 3 block evaluations on each flip row, a Gram matrix (pairs^2 x rows
// / 2) and a Cholesky factorisation (pairs^3 / 6). The pairs are those at most `span` positions
// apart, span as large as keeps them within flip_pair_share of the rows (48 blocks on 2048 rows:
// span 33, 1023 pairs; b48-sgd-t3-40-s2 ~0.85 s a round on 2 threads, see the Gram matrix below;
// b48-adam-zero-t3-120, h 96, ~1.1 s before the 3-run and tiling changes). Memory: the flip
// rows' streams and sensitivities, (N + 1) x rows x d floats each (34 MB each for 64 blocks of
// d 64), the pairs' changes (pairs x rows floats) and the Gram matrix (pairs^2 doubles, twice).
//
// Determinism: each pair's column is computed whole by one task, each Gram row by one task, the
// factorisation on the calling thread: the same bits for any number of threads.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "linalg.hpp"
#include "search_engine.hpp"
#include "text.hpp"

namespace humpty {
namespace {

constexpr std::size_t kGramTile = 4;  // the Gram matrix is summed in kGramTile x kGramTile tiles

// How many pairs lie at most `span` positions apart among n positions.
std::size_t pairs_within(std::size_t n, std::size_t span) {
  std::size_t count = 0;
  for (std::size_t p = 0; p < n; ++p) count += std::min(span, n - 1 - p);
  return count;
}

}  // namespace

// Orders the blocks by how many others each runs before, once the pairs `flips` (positions p < q)
// are inverted; ties keep the given order.
std::vector<Block> order_with_flips(const std::vector<Block>& blocks,
                                    const std::vector<std::pair<std::size_t, std::size_t>>& flips) {
  const std::size_t n = blocks.size();
  std::vector<std::size_t> wins(n);
  for (std::size_t p = 0; p < n; ++p) wins[p] = n - 1 - p;
  for (const auto& f : flips) {
    HUMPTY_ASSERT(f.first < f.second && f.second < n && wins[f.first] > 0);
    --wins[f.first];
    ++wins[f.second];
  }
  std::vector<std::size_t> by_wins(n);
  std::iota(by_wins.begin(), by_wins.end(), std::size_t(0));
  std::stable_sort(by_wins.begin(), by_wins.end(), [&](std::size_t a, std::size_t b) { return wins[a] > wins[b]; });
  std::vector<Block> ordered(n);
  for (std::size_t k = 0; k < n; ++k) ordered[k] = blocks[by_wins[k]];
  return ordered;
}

FlipChain flip_chain(const PackedPuzzle& net, Evaluator& eval, ThreadPool& pool, const std::vector<Block>& start,
                     const SearchTuning& tuning, double tolerance, const std::function<bool()>& stop) {
  FlipChain chain;
  const std::size_t n = start.size(), rows = eval.rows(), chunks = eval.chunks(), dp = net.dim_padded;
  while (chain.span + 1 < n && double(pairs_within(n, chain.span + 1)) <= tuning.flip_pair_share * double(rows)) {
    ++chain.span;
  }
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t q = p + 1; q <= std::min(n - 1, p + chain.span); ++q) pairs.emplace_back(p, q);
  }
  const std::size_t m = chain.pairs = pairs.size();
  std::vector<float> feature(m * rows);
  std::vector<double> gram(m * m), coef(m);
  struct Buffers {
    std::vector<float> ab, ba, hidden;
  };
  std::vector<Buffers> buffers(std::size_t(pool.size()));
  std::vector<Block> order = start;
  while (true) {
    eval.set(order);
    if (eval.mse() < chain.best_mse) {
      chain.best_mse = eval.mse();
      chain.best = order;
    }
    if (m == 0 || eval.mse() <= tolerance || chain.rounds == tuning.flip_rounds || (stop && stop())) break;
    ++chain.rounds;
    eval.compute_sensitivities(chunks);
    // Each pair's predicted change of the output, per row.
    pool.run(m, [&](std::size_t k, int worker) {
      Buffers& s = buffers[std::size_t(worker)];
      s.ab.resize(kChunkRows * dp);
      s.ba.resize(kChunkRows * dp);
      s.hidden.resize(kChunkRows * net.hidden_padded);
      const Block& a = order[pairs[k].first];
      const Block& b = order[pairs[k].second];
      for (std::size_t c = 0; c < chunks; ++c) {
        const std::size_t count = eval.chunk_rows(c);
        // B(A(x)) starts from the stream after a, A(x), which the evaluator holds: 3 block runs.
        std::copy_n(eval.stream(pairs[k].first, c), kChunkRows * dp, s.ab.data());
        std::copy_n(eval.stream(pairs[k].first + 1, c), kChunkRows * dp, s.ba.data());
        run_block(net.piece(b.inp), net.piece(b.out), s.ab.data(), count, s.hidden.data());
        run_block(net.piece(a.inp), net.piece(a.out), s.ab.data(), count, s.hidden.data());
        run_block(net.piece(b.inp), net.piece(b.out), s.ba.data(), count, s.hidden.data());
        dot_differences(eval.sensitivity_at(pairs[k].second + 1, c), s.ab.data(), s.ba.data(), dp, count, dp,
                        feature.data() + k * rows + c * kChunkRows);
      }
    });
    eval.count_block_rows(std::uint64_t(3) * m * rows);
    // Normal equations (the Gram matrix's lower triangle): each band of kGramTile rows by one task;
    // every entry is summed over the rows in order, so the bits do not depend on the tiling or
    // the threads. The tile keeps 16 sums in flight and reads each feature once per tile, not per
    // entry (b48-sgd-t3-40-s2, 1023 pairs on 2048 rows, 2 threads: a round ~1.05 s with one sum at
    // a time, 0.85 s so; the Gram matrix 0.31 s of it, the pairs' changes 0.36 s, Cholesky 0.11 s).
    const std::vector<double> error = eval.errors();
    pool.run((m + kGramTile - 1) / kGramTile, [&](std::size_t band, int) {
      const std::size_t i0 = band * kGramTile, ni = std::min(kGramTile, m - i0);
      for (std::size_t j0 = 0; j0 <= i0; j0 += kGramTile) {
        const std::size_t nj = std::min(kGramTile, m - j0);
        double sum[kGramTile][kGramTile] = {};
        const float* fi[kGramTile];
        const float* fj[kGramTile];
        for (std::size_t a = 0; a < kGramTile; ++a) {
          fi[a] = feature.data() + (i0 + std::min(a, ni - 1)) * rows;  // past the end: a repeat, not stored
          fj[a] = feature.data() + (j0 + std::min(a, nj - 1)) * rows;
        }
        for (std::size_t r = 0; r < rows; ++r) {
          double y[kGramTile];
          for (std::size_t b = 0; b < kGramTile; ++b) y[b] = fj[b][r];
          for (std::size_t a = 0; a < kGramTile; ++a) {
            const double x = fi[a][r];
            for (std::size_t b = 0; b < kGramTile; ++b) sum[a][b] += x * y[b];
          }
        }
        for (std::size_t a = 0; a < ni; ++a) {
          for (std::size_t b = 0; b < nj && j0 + b <= i0 + a; ++b) gram[(i0 + a) * m + j0 + b] = sum[a][b];
        }
      }
      for (std::size_t a = 0; a < ni; ++a) {
        const float* f = feature.data() + (i0 + a) * rows;
        double s = 0;
        for (std::size_t r = 0; r < rows; ++r) s -= double(f[r]) * error[r];
        coef[i0 + a] = s;
      }
    });
    double diagonal = 0;
    for (std::size_t i = 0; i < m; ++i) diagonal += gram[i * m + i];
    // A small ridge keeps pairs whose changes are (nearly) the same from trading huge coefficients.
    const std::vector<double> saved_gram = gram, rhs = coef;
    double ridge = tuning.flip_ridge * diagonal / double(m) + 1e-300;
    bool solved = false;
    for (int attempt = 0; attempt < 4 && !solved; ++attempt, ridge *= 100) {
      gram = saved_gram;
      coef = rhs;
      solved = cholesky_solve(gram, m, ridge, coef);
    }
    if (!solved) break;
    std::vector<std::pair<std::size_t, std::size_t>> flips;
    for (std::size_t k = 0; k < m; ++k) {
      if (coef[k] > tuning.flip_threshold) flips.push_back(pairs[k]);
    }
    if (flips.empty()) break;
    chain.picked += flips.size();
    std::vector<Block> next = order_with_flips(order, flips);
    if (next == order) break;
    order = std::move(next);
  }
  return chain;
}

FlipGate flip_gate(double level, std::size_t far_run, std::size_t stale_rounds, const SearchTuning& tuning) {
  if (!tuning.flip || level > tuning.flip_below) return FlipGate::closed;
  if (level <= tuning.flip_near) return FlipGate::near;
  // Far from the answer a chain may climb for all its rounds (b64-adam-40), and again from each
  // new best the descent finds nearby: there the first chain is the one measured to pay, and only
  // where the MSE no longer tells orders apart (flip_far_above; below it the descent still moves).
  // Below that, once the search has gone flip_far_stale rounds without a new best: the descent
  // no longer moves either.
  if (level < tuning.flip_far_above && stale_rounds < tuning.flip_far_stale) return FlipGate::closed;
  return far_run < tuning.flip_far_chains ? FlipGate::far : FlipGate::closed;
}

bool Engine::flip() {
  const double mse = best_sse_ / double(fine_.rows());
  // A constant pred (variance 0) has only one level that is not infinitely far: zero.
  const double level = pred_variance_ > 0 ? mse / pred_variance_ : (mse > 0 ? HUGE_VAL : 0.0);
  const FlipGate gate = flip_gate(level, far_chains_, stale_rounds_, tuning_);
  if (gate == FlipGate::closed || best_.size() < 3) return false;
  if (best_ == flip_from_) return false;  // the chain from this best was run: it would run the same
  far_chains_ += gate == FlipGate::far;
  flip_from_ = best_;
  if (!flip_eval_) {
    const std::size_t rows = std::min(tuning_.flip_rows, data_.rows);
    flip_eval_ = std::make_unique<Evaluator>(net_, data_, spread_rows(data_.rows, rows), pool_);
  }
  std::size_t round = 0;  // the chain asks once a round, before it
  const FlipChain chain = flip_chain(net_, *flip_eval_, pool_, best_, tuning_, tolerance_, [this, &round] {
    ++round;
    heartbeat([&] { return format_text("flips: round %zu of at most %zu", round, tuning_.flip_rounds); });
    return should_stop();
  });
  stats_.flip_rounds += chain.rounds;
  if (options_.log) {
    options_.log("search", format_text("flips: %zu rounds over %zu pairs (span %zu), %zu inversions picked; "
                                       "best of the chain mse %.3g on %zu rows",
                                       chain.rounds, chain.pairs, chain.span, chain.picked, chain.best_mse,
                                       flip_eval_->rows()));
  }
  if (chain.best.empty() || chain.best == best_) return false;
  commit(chain.best, 0);
  return true;
}

}  // namespace humpty
