// Re-pairing kick: when the descent is stuck with some pairs wrong, the best assembly's pairs are
// blended with the weight score's and the descent restarts from the blend (overview in
// search_engine.hpp).
//
// Why: on b64-adam-40 the weight score pairs 54 of 64 right and the data search ends with 52-61
// right, its wrong pairs in cycles of 2 to 12 blocks that compensate each other - fixing one pair
// of a cycle makes the error worse (0.027 -> 0.046 MSE/var), so no descent step repairs them, and
// relaxation rounds from there kept them for 150 s. The two kinds of evidence err in different
// places: the wrong pairs the data chose score low by the weights (-1.8 to 0.6 in z units, their
// right partners 2.2 to 8.5), and the data fixed most of the pairs the weights got wrong. The
// assignment on the weight score plus a bonus for the best assembly's own pairs (keep, in units
// of the score's spread) takes the data's pairs where the weights have no strong objection and
// the weights' where they do. On 13 failing runs' final assemblies, a bonus of 1.24 gave more
// right pairs in 9 (four of them all 64), the same in 3, and fewer in one (56 -> 54); bonuses of
// 0.3 and 3.7 did worse. From such a blend, its order kept, the search was exact in 21 s (61
// right). In the search, b64-adam-40's 60 s solve became exact on 4 of 7 seeds (25.8-50.8 s)
// instead of 3 (29.8-48.2 s); the suite's seed still is not (0.083 -> 0.049 MSE/var).
//
// The kick only runs where the weight score has signal: where at least kick_confident_share of
// its pairs lead every rival by relax_pair_confident. On the SGD nets, whose score is at chance,
// that is 20-21% (and those pairs are mostly wrong), a blend would only break right pairs the
// data found; on the other nets of the hard suite 47-100% (b64-adam-40: 56%).
#include <algorithm>
#include <functional>

#include "hungarian.hpp"
#include "search_engine.hpp"
#include "text.hpp"

namespace humpty {

std::vector<Block> blend_pairs(const std::vector<Block>& blocks, const std::function<double(std::size_t, std::size_t)>& score,
                               double keep, const std::vector<char>& fixed) {
  const std::size_t n = blocks.size();
  HUMPTY_ASSERT(fixed.size() == n);
  // The assignment runs over the free blocks and their outs alone (a fixed block's out is not
  // on offer): a prohibitive cost in the full matrix would swamp the scores in the potentials.
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

bool Engine::kick() {
  const std::size_t n = best_.size(), table = puzzle_.blocks();
  if (!repairs_ || n < 2 || pair_logit_.size() != table * table) return false;
  // Only where the score has signal: enough of its pairs lead their rivals (relax_pair_confident).
  std::size_t confident = 0;
  for (const Block& b : best_) confident += pair_margin_[std::size_t(b.inp)] >= tuning_.relax_pair_confident;
  if (double(confident) < tuning_.kick_confident_share * double(n)) return false;
  // One kick per pairing of the best, whatever its order: a blend is tried once (lower bonuses,
  // tried in turn, broke pairs the data had right: two pairs changed, MSE/var 0.02 -> 1).
  std::vector<int> partner(puzzle_.pieces.size(), -1);
  for (const Block& b : best_) partner[std::size_t(b.inp)] = b.out;
  if (partner == last_kick_pairs_) return false;
  last_kick_pairs_ = partner;
  // The sure pairs are put back first (a descent's repair may have broken one): the kick is a
  // proposal the data then judge, and the score's sure pairs belong in it.
  const std::vector<Block> base = with_sure_pairs(best_);
  std::vector<char> fixed(n, 0);
  for (std::size_t k = 0; k < n; ++k) fixed[k] = sure_partner_[std::size_t(base[k].inp)] >= 0;
  const std::vector<Block> blocks = blend_pairs(
      base,
      [&](std::size_t k, std::size_t o) {
        return pair_logit_[table_index_[std::size_t(base[k].inp)] * table + table_index_[std::size_t(base[o].out)]];
      },
      tuning_.kick_keep, fixed);
  std::size_t changed = 0;
  for (std::size_t k = 0; k < n; ++k) changed += blocks[k].out != best_[k].out;
  if (changed == 0) return false;
  ++stats_.kicks;
  commit(blocks, 0);
  order_phase_ = tuning_.order_first;  // the new pairs get an order before any repair
  if (options_.log) {
    options_.log("search", format_text("re-pairing kick %llu: %.0f pairs changed, mse %.3g on %.0f rows",
                                       (unsigned long long)stats_.kicks, double(changed), fine_.mse(),
                                       double(fine_.rows())));
  }
  return true;
}

}  // namespace humpty
