// Candidates of one descent step, tried exactly: predicted improvements on disjoint positions
// combined, then single moves best predicted first, on the table's rows and then on all subset
// rows; the first real improvement is the step. See search_engine.hpp for the method.
#include <algorithm>
#include <numeric>

#include "search_engine.hpp"

namespace humpty {
namespace {

// Predicted improvements that touch disjoint positions, best first, applied together: the best
// 2, 4, 8, ... of them, as the predictions add up only approximately.
void add_combinations(const std::vector<Block>& blocks, const std::vector<Candidate>& candidates,
                      std::vector<std::vector<Block>>& trial, std::vector<std::size_t>& from) {
  const std::size_t n = blocks.size();
  std::vector<char> taken(n, 0);
  std::vector<Block> combined = blocks;
  std::size_t combined_from = n, count = 0, next_size = 2;
  for (const Candidate& c : candidates) {
    if (!(c.estimate < 0)) break;
    std::size_t first = c.first(), last = c.last();
    if (std::any_of(taken.begin() + std::ptrdiff_t(first), taken.begin() + std::ptrdiff_t(last) + 1,
                    [](char t) { return t != 0; })) {
      continue;
    }
    std::fill(taken.begin() + std::ptrdiff_t(first), taken.begin() + std::ptrdiff_t(last) + 1, 1);
    c.apply(combined);
    combined_from = std::min(combined_from, first);
    if (++count == next_size) {
      trial.push_back(combined);
      from.push_back(combined_from);
      next_size *= 2;
    }
  }
  if (count > 1 && count != next_size / 2) {
    trial.push_back(combined);
    from.push_back(combined_from);
  }
}

}  // namespace

bool Engine::screen_candidates(const std::vector<Block>& blocks, const std::vector<Candidate>& candidates,
                               std::size_t window) {
  const std::size_t n = blocks.size();
  const bool local = window < n;
  std::vector<std::vector<Block>> trial;
  std::vector<std::size_t> from;
  add_combinations(blocks, candidates, trial, from);
  // Then single moves, best predicted first, in growing batches. Far from the answer the
  // prediction is rough, so when the first batch holds no improvement the search goes down the
  // list (in a wide step, up to deep_screen moves) before calling this a local optimum.
  const std::size_t limit = std::min(candidates.size(), local ? tuning_.screen_batch : tuning_.deep_screen);
  for (std::size_t next = 0, batch = tuning_.screen_batch; next < limit; next += batch, batch *= 2) {
    // A wide step at 128 blocks screens for seconds: the time limit is looked at every batch.
    if (next > 0 && should_stop()) return false;
    for (std::size_t k = next; k < std::min(limit, next + batch); ++k) {
      trial.push_back(blocks);
      candidates[k].apply(trial.back());
      from.push_back(candidates[k].first());
    }
    // Exact on the table's rows first; the improvements, best first, on all subset rows.
    std::vector<double> screen_sse(trial.size());
    pool_.run(trial.size(), [&](std::size_t k, int worker) {
      screen_sse[k] =
          screen_.score(trial[k], from[k], 0, screen_.chunks(), scratch_[std::size_t(worker)], screen_.sse());
    });
    for (std::size_t k = 0; k < trial.size(); ++k) fine_.count_block_rows((n - from[k]) * screen_.rows());
    stats_.moves += trial.size();
    stats_.screened += trial.size();
    for (double sse : screen_sse) stats_.screened_better += sse < screen_.sse();
    std::vector<std::size_t> order(trial.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return screen_sse[a] < screen_sse[b]; });
    if (local && confirm_steps_ == 0) {
      // Locally, the best improvement on the table's rows is taken on them alone; the subset
      // rows check a few such steps at once.
      if (screen_sse[order[0]] < screen_.sse()) {
        take_on_screen(trial[order[0]], from[order[0]]);
        return true;
      }
      if (epoch_steps_ > 0) {
        end_epoch();
        return true;
      }
    }
    if (confirm_steps_ > 0) --confirm_steps_;
    std::size_t confirmed = 0;
    for (std::size_t k : order) {
      if (!(screen_sse[k] < screen_.sse()) || confirmed++ == (local ? tuning_.confirm_batch : tuning_.deep_confirm))
        break;
      HUMPTY_ASSERT(from[k] <= n);
      double sse = fine_.try_candidate(trial[k], from[k]);
      ++stats_.moves;
      if (sse < fine_.sse()) {
        fine_.adopt();
        refresh_screen();
        return true;
      }
    }
    trial.clear();
    from.clear();
  }
  return false;
}

}  // namespace humpty
