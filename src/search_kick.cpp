// Re-pairing kick: when the descent is stuck with some pairs wrong, the best assembly's pairs are
// blended with the weight score's and the descent restarts from the blend (overview in
// search_engine.hpp).
//
// Why: on b64-adam-40 the weight score pairs 54 of 64 right and the data search ends with 52-61
// right, its wrong pairs in cycles of 2 to 12 blocks that compensate each other - fixing one pair
// of a cycle makes the error worse (0.027 -> 0.046 MSE/var), so no descent step repairs them, and
// relaxation rounds from there kept them for 150 s. The two kinds of evidence err in different
// places: the wrong pairs the data chose score low by the weights (-1.8 to 0.6 in the combined
// score's units, their right partners 2.2 to 8.5), and the data fixed most of the pairs the weights
// got wrong. The assignment on the weight score plus a bonus for the best assembly's own pairs
// (keep, in units of the score's spread) takes the data's pairs where the weights have no strong
// objection and the weights' where they do. On 13 failing runs' final assemblies, a bonus of 1.24
// gave more right pairs in 9 (four of them all 64), the same in 3, and fewer in one (56 -> 54);
// 0.93 to 1.86 did about as well, 0.3 and 3.7 worse. From such a blend, its order kept, the search
// was exact in 21 s (61 right). In the search (b64-adam-40, 60 s, seeds 24301 and 1-6): a bonus of
// 1.25 made the full solve exact on 4 of 7 seeds instead of 3; 1.6 on 5 of 7 (and on seed 7, not on
// 8), 2.0 on neither failing seed. With the cycle kicks below, 5 of 7 (25-40 s; seeds 7 and 8 not),
// and the suite's seed and seed 8 end with all 64 pairs right, the order unfinished at 60 s (the
// suite's seed exact at 83 s with 90).
//
// The kick only runs where the weight score has signal: where at least kick_confident_share of its
// pairs lead every rival by relax_pair_confident. On the SGD nets, whose score is at chance, that
// is 20-21% (and those pairs are mostly wrong), a blend would only break right pairs the data
// found; on the other nets of the hard suite 47-100% (b64-adam-40: 56%).
#include <algorithm>
#include <functional>

#include "hungarian.hpp"
#include "search_engine.hpp"
#include "text.hpp"

namespace humpty {

std::vector<Block> blend_pairs(const std::vector<Block>& blocks,
                               const std::function<double(std::size_t, std::size_t)>& score, double keep,
                               const std::vector<char>& fixed) {
  const std::size_t n = blocks.size();
  HUMPTY_ASSERT(fixed.size() == n);
  // The assignment runs over the free blocks and their outs alone (a fixed block's out is not on
  // offer): a prohibitive cost in the full matrix would swamp the scores in the potentials.
  std::vector<std::size_t> free;
  for (std::size_t k = 0; k < n; ++k) {
    if (!fixed[k]) free.push_back(k);
  }
  const std::size_t m = free.size();
  std::vector<double> cost(m * m);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < m; ++c) cost[r * m + c] = -(score(free[r], free[c]) + (r == c ? keep : 0.0));
  }
  const std::vector<std::size_t> column = hungarian_min_cost(cost, m);
  std::vector<Block> blended = blocks;
  for (std::size_t r = 0; r < m; ++r) blended[free[r]].out = blocks[free[column[r]]].out;
  return blended;
}

std::vector<PairCycle> short_cycles(const std::vector<Block>& blocks,
                                    const std::function<double(std::size_t, std::size_t)>& score,
                                    const std::vector<char>& fixed) {
  const std::size_t n = blocks.size();
  HUMPTY_ASSERT(fixed.size() == n);
  // gain[a][b]: what block a gains by taking block b's out. Only each block's best few (by that
  // gain) are followed: n x kCycleRivals^2 cycles, not n^3.
  constexpr std::size_t kCycleRivals = 8;
  std::vector<double> gain(n * n, 0.0);
  std::vector<std::vector<std::size_t>> best(n);
  for (std::size_t a = 0; a < n; ++a) {
    if (fixed[a]) continue;
    const double own = score(a, a);
    for (std::size_t b = 0; b < n; ++b) {
      gain[a * n + b] = score(a, b) - own;
      if (b != a && !fixed[b]) best[a].push_back(b);
    }
    std::stable_sort(best[a].begin(), best[a].end(),
                     [&](std::size_t x, std::size_t y) { return gain[a * n + x] > gain[a * n + y]; });
    if (best[a].size() > kCycleRivals) best[a].resize(kCycleRivals);
  }
  std::vector<PairCycle> cycles;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b : best[a]) {
      // Each cycle once: from its lowest position.
      if (b < a) continue;
      const double two = gain[a * n + b] + gain[b * n + a];
      if (two > 0) cycles.push_back({{a, b, 0}, 2, two});
      for (std::size_t c : best[b]) {
        if (c <= a || c == b) continue;
        const double three = gain[a * n + b] + gain[b * n + c] + gain[c * n + a];
        if (three > 0) cycles.push_back({{a, b, c}, 3, three});
      }
    }
  }
  std::stable_sort(cycles.begin(), cycles.end(),
                   [](const PairCycle& x, const PairCycle& y) { return x.gain > y.gain; });
  return cycles;
}

bool Engine::kick() {
  const std::size_t n = best_.size(), table = puzzle_.blocks();
  if (!repairs_ || n < 2 || pair_logit_.size() != table * table) return false;
  // Only where the score has signal: enough of its pairs lead their rivals (relax_pair_confident).
  std::size_t confident = 0;
  for (const Block& b : best_) confident += pair_margin_[std::size_t(b.inp)] >= tuning_.relax_pair_confident;
  if (double(confident) < tuning_.kick_confident_share * double(n)) return false;
  // The sure pairs are put back first (a descent's repair may have broken one): the kick is a
  // proposal the data then judge, and the score's sure pairs belong in it.
  const std::vector<Block> base = with_sure_pairs(best_);
  std::vector<char> fixed(n, 0);
  for (std::size_t k = 0; k < n; ++k) fixed[k] = sure_partner_[std::size_t(base[k].inp)] >= 0;
  auto score = [&](std::size_t k, std::size_t o) {
    return pair_logit_[table_index_[std::size_t(base[k].inp)] * table +
                       table_index_[std::size_t(base[o].out)]];
  };
  // Each pairing is kicked to once in a search (lower bonuses tried in turn, in a first version,
  // broke pairs the data had right: two pairs changed, MSE/var 0.02 -> 1): the blend first; where
  // it changes nothing or was tried, the short cycle the score likes best among those not tried.
  // Why the cycles: the blend leaves a cycle whose gain is below the bonus it would forfeit
  // (b64-adam-40, the suite's seed: 61 of 64 right, the wrong ones one 3-cycle whose gain, 2.8
  // spreads, is the best of all 2- and 3-cycles, and below the 3 x 1.6 of bonus the blend would
  // give up for it).
  auto pairing_of = [&](const std::vector<Block>& blocks) {
    std::vector<int> partner(puzzle_.pieces.size(), -1);
    for (const Block& b : blocks) partner[std::size_t(b.inp)] = b.out;
    return partner;
  };
  auto untried = [&](const std::vector<Block>& blocks) {
    return blocks != base &&
           std::find(tried_kicks_.begin(), tried_kicks_.end(), pairing_of(blocks)) == tried_kicks_.end();
  };
  std::vector<Block> blocks = blend_pairs(base, score, tuning_.kick_keep, fixed);
  const char* kind = "blend";
  if (!untried(blocks)) {
    blocks.clear();
    for (const PairCycle& cycle : short_cycles(base, score, fixed)) {
      std::vector<Block> candidate = base;
      for (std::size_t k = 0; k < cycle.length; ++k) {
        candidate[cycle.at[k]].out = base[cycle.at[(k + 1) % cycle.length]].out;
      }
      if (untried(candidate)) {
        blocks = std::move(candidate);
        kind = "cycle";
        break;
      }
    }
    if (blocks.empty()) return false;
  }
  tried_kicks_.push_back(pairing_of(blocks));
  std::size_t changed = 0;
  for (std::size_t k = 0; k < n; ++k) changed += blocks[k].out != best_[k].out;
  ++stats_.kicks;
  commit(blocks, 0);
  order_phase_ = tuning_.order_first;  // the new pairs get an order before any repair
  if (options_.log) {
    options_.log("search", format_text("re-pairing kick %llu (%s): %.0f pairs changed, mse %.3g on %.0f rows",
                                       (unsigned long long)stats_.kicks, kind, double(changed), fine_.mse(),
                                       double(fine_.rows())));
  }
  return true;
}

}  // namespace humpty
