// The search's step policy: the starts, descent rounds and their epochs, annealing between them,
// when to stop, and the proof on every row. The phases it calls live in search_table.cpp,
// search_screen.cpp and search_anneal.cpp (overview in search_engine.hpp).
#include "search_engine.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "storage.hpp"
#include "text.hpp"

namespace humpty {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::exact:
      return "exact";
    case StopReason::time_limit:
      return "time limit";
    case StopReason::interrupted:
      return "interrupted";
    case StopReason::stuck:
      return "stuck";
  }
  return "?";
}

std::vector<std::size_t> sample_rows(const std::vector<std::size_t>& rows, std::size_t count) {
  std::vector<std::size_t> sample;
  for (std::size_t k : spread_rows(rows.size(), count)) sample.push_back(rows[k]);
  return sample;
}

namespace {

std::vector<std::size_t> subset_rows(const Dataset& data, const SearchOptions& options) {
  return spread_rows(data.rows, options.rows ? options.rows : options.tuning.default_rows);
}

}  // namespace

Engine::Engine(const Puzzle& puzzle, const Dataset& data, const SearchOptions& options)
    : puzzle_(puzzle),
      data_(data),
      options_(options),
      tuning_(options_.tuning),
      own_pool_(options.pool ? nullptr : std::make_unique<ThreadPool>(options.threads)),
      pool_(options.pool ? *options.pool : *own_pool_),
      net_(pack_puzzle(puzzle)),
      fine_(net_, data, subset_rows(data, options), pool_),
      screen_(net_, data, sample_rows(subset_rows(data, options), options.tuning.screen_chunks * kChunkRows), pool_),
      walk_(net_, data, sample_rows(subset_rows(data, options), options.tuning.anneal_chunks * kChunkRows), pool_),
      scratch_(std::size_t(pool_.size())),
      rng_(options.seed),
      tolerance_(rounding_tolerance(data)) {
  screen_.keep_hidden();
  {
    double mean = 0, square = 0;
    for (std::size_t row : fine_.row_indices()) mean += data.pred[row];
    mean /= double(fine_.rows());
    for (std::size_t row : fine_.row_indices()) square += (data.pred[row] - mean) * (data.pred[row] - mean);
    pred_variance_ = square / double(fine_.rows());
  }
  // Repairs look first at the outs that score best with each inp: the right partner is nearly
  // always among them even where the pairing score picked wrongly. By the trace score alone:
  // ranked by the combined score instead, the order-only solve of b48-sgd-t3-40 (where both
  // scores are at chance) broke two of its given right pairs and was not exact in 20 s or 40 s
  // (exact in 13-14 s this way), and b64-adam-40's full solve did no better (0.12 against 0.10).
  const Pairing own_pairing = options.pairing ? Pairing() : pair_layers(puzzle, pool_);
  const Pairing& pairing = options.pairing ? *options.pairing : own_pairing;
  const std::size_t n = puzzle.blocks();
  rivals_.assign(puzzle.pieces.size(), {});
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> outs(n);
    std::iota(outs.begin(), outs.end(), std::size_t(0));
    std::stable_sort(outs.begin(), outs.end(), [&](std::size_t a, std::size_t b) {
      return pairing.table[i * n + a] > pairing.table[i * n + b];
    });
    for (std::size_t k = 0; k < std::min(tuning_.repair_rivals, n); ++k) {
      rivals_[std::size_t(puzzle.inp_pieces[i])].push_back(puzzle.out_pieces[outs[k]]);
    }
  }
  // Pairs the caller knows (Pairing::is_given): kept from the start and never lifted.
  given_partner_.assign(puzzle.pieces.size(), -1);
  std::size_t given = 0;
  if (pairing.is_given.size() == pairing.blocks.size()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!pairing.is_given[i]) continue;
      given_partner_[std::size_t(pairing.blocks[i].inp)] = pairing.blocks[i].out;
      ++given;
    }
  }
  // Every pair given: nothing is left to repair, ever (else repairs start once the order is stuck).
  may_repair_ = options.repair_pairs && given < n;
  repairs_ = may_repair_ && pairing.sure < n;
  order_phase_ = tuning_.order_first;
  sure_partner_ = given_partner_;
  // A pair is sure for the search when the trace score is sure of it and the combined score also
  // leads by sure_lead (SearchTuning; a hand-made Pairing without leads: the trace alone), or the
  // caller gave it.
  const bool with_leads = pairing.leads.size() == pairing.blocks.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (pairing.is_sure[i] && (!with_leads || pairing.leads[i] >= tuning_.sure_lead)) {
      sure_partner_[std::size_t(pairing.blocks[i].inp)] = pairing.blocks[i].out;
    }
  }
  // Sure pairs stay once held, except where every pair is sure: then a search only runs because
  // the data disagree with the pairing (descend), and only repairs can answer that. Where none
  // is sure there is nothing to keep, and stale rounds must not report lifting it.
  sure_pairs_ =
      std::size_t(std::count_if(sure_partner_.begin(), sure_partner_.end(), [](int o) { return o >= 0; }));
  keep_sure_ = tuning_.keep_sure && sure_pairs_ > 0 && sure_pairs_ < n;
  score_partner_.assign(puzzle.pieces.size(), -1);
  for (const Block& b : pairing.blocks) score_partner_[std::size_t(b.inp)] = b.out;
  // How far each score pair leads its rivals (none is confident if a hand-made Pairing says not).
  pair_margin_.assign(puzzle.pieces.size(), 0.0);
  if (pairing.leads.size() == pairing.blocks.size()) {
    for (std::size_t k = 0; k < pairing.blocks.size(); ++k) pair_margin_[std::size_t(pairing.blocks[k].inp)] = pairing.leads[k];
  }
  table_index_.assign(puzzle.pieces.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    table_index_[std::size_t(puzzle.inp_pieces[i])] = i;
    table_index_[std::size_t(puzzle.out_pieces[i])] = i;
  }
  // The logits' scale is the assignment score's spread: the first temperature then weighs the
  // score as a z-value, whatever the net's dim (chance scores scale as 1 / sqrt(dim)). A
  // hand-made Pairing may hold only the trace table.
  const std::vector<double>& score = pairing.combined.size() == n * n ? pairing.combined : pairing.table;
  double mean = 0, square = 0;
  for (double v : score) mean += v;
  mean /= double(std::max<std::size_t>(score.size(), 1));
  for (double v : score) square += (v - mean) * (v - mean);
  const double spread = std::sqrt(square / double(std::max<std::size_t>(score.size(), 1)));
  pair_logit_.assign(score.size(), 0.0);
  for (std::size_t k = 0; k < score.size(); ++k) pair_logit_[k] = spread > 0 ? score[k] / spread : 0;
}

std::size_t Engine::sure_held(const std::vector<Block>& blocks) const {
  std::size_t held = 0;
  for (const Block& b : blocks) held += keeps_sure(b);
  return held;
}

// The blocks with every pair the pairing score is sure of put right, inp positions kept.
std::vector<Block> Engine::with_sure_pairs(std::vector<Block> blocks) const {
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    int partner = sure_partner_[std::size_t(blocks[i].inp)];
    if (partner < 0 || blocks[i].out == partner) continue;
    for (std::size_t j = 0; j < blocks.size(); ++j) {
      if (blocks[j].out == partner) std::swap(blocks[i].out, blocks[j].out);
    }
  }
  return blocks;
}

bool Engine::should_stop() {
  if (options_.stop && options_.stop->load()) {
    stopped_ = StopReason::interrupted;
    return true;
  }
  if (options_.time_limit > 0 && seconds_since(start_) >= options_.time_limit) {
    stopped_ = StopReason::time_limit;
    return true;
  }
  return false;
}

// Outside an epoch the screen's evaluator holds the assembly the subset's does (the screen runs
// ahead of the subset only inside an epoch); the best is never worse than the current assembly.
void Engine::check_invariants() const {
  HUMPTY_ASSERT(epoch_steps_ > 0 || screen_.blocks() == fine_.blocks());
  HUMPTY_ASSERT(best_sse_ <= fine_.sse());
  HUMPTY_ASSERT(fine_.positions() == puzzle_.blocks());
}

void Engine::commit(const std::vector<Block>& blocks, std::size_t from) {
  HUMPTY_ASSERT(from <= blocks.size());
  fine_.set(blocks, from);
  refresh_screen();
}

// After the assembly changed: new telling rows for the screen, and a new best if it is one.
void Engine::refresh_screen() {
  screen_.select_rows(data_, telling_rows(screen_.rows()));
  screen_.set(fine_.blocks());
  note_best();
}

// The subset rows that say most about what is still wrong: where the error is concentrated, a
// sample spread evenly would mostly see rows that are already right. Half are the rows with the
// largest errors now, half spread over the rest; ties go to the lower row.
std::vector<std::size_t> Engine::telling_rows(std::size_t count) const {
  const std::vector<double> error = fine_.errors();
  const auto& indices = fine_.row_indices();
  count = std::min(count, indices.size());
  std::vector<std::size_t> by_error(indices.size());
  std::iota(by_error.begin(), by_error.end(), std::size_t(0));
  std::stable_sort(by_error.begin(), by_error.end(),
                   [&](std::size_t a, std::size_t b) { return std::fabs(error[a]) > std::fabs(error[b]); });
  std::vector<char> chosen(indices.size(), 0);
  for (std::size_t k = 0; k < count / 2; ++k) chosen[by_error[k]] = 1;
  std::vector<std::size_t> rest;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (!chosen[k]) rest.push_back(k);
  }
  for (std::size_t k : spread_rows(rest.size(), count - count / 2)) chosen[rest[k]] = 1;
  std::vector<std::size_t> rows;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (chosen[k]) rows.push_back(indices[k]);
  }
  return rows;
}

void Engine::note_best() {
  if (fine_.sse() < best_sse_) {
    best_sse_ = fine_.sse();
    best_ = fine_.blocks();
    trace_.push_back({seconds_since(start_), best_sse_ / double(fine_.rows())});
    progress(false);
  }
}

void Engine::heartbeat(const std::function<std::string()>& what) {
  const double elapsed = seconds_since(start_);
  if (!options_.log || elapsed - last_progress_ < tuning_.progress_seconds) return;
  last_progress_ = elapsed;
  options_.log("search", what() + format_text(", %.2fs", elapsed));
}

void Engine::progress(bool force) {
  double elapsed = seconds_since(start_);
  if (!options_.log || (!force && elapsed - last_progress_ < tuning_.progress_seconds)) return;
  last_progress_ = elapsed;
  options_.log("search",
               format_text("best mse %.3e on %.0f rows, %.0f moves (%.0f/s), %.2fM block-rows/s, %.2fs",
                           best_sse_ / double(fine_.rows()), double(fine_.rows()), double(stats_.moves),
                           double(stats_.moves) / std::max(elapsed, 1e-9),
                           double(block_rows()) / std::max(elapsed, 1e-9) / 1e6, elapsed));
}

// Local steps while they help; then one wide step; then repairs (even where the pairing looked
// sure); then give up to annealing. At first the order alone is searched: in a wrong order a wrong
// pair can lower the error, so repairs tried while the order is still far off break right pairs
// (given the right pairs, a search that repaired as it went ended with half of them, and from
// them, ordering alone is exact in seconds). Once the order is stuck, repairs join the moves for
// the rest of the search.
bool Engine::descend() {
  bool improved = false;
  std::size_t window = tuning_.local_window;
  const std::size_t n = fine_.positions();
  while (!exact_on_subset() && !should_stop()) {
    check_invariants();
    if (descent_step(window, repairs_ && !order_phase_)) {
      ++stats_.steps;
      improved = true;
      window = tuning_.local_window;
    } else if (window < n) {
      window = n;  // nothing nearby: look at moves of any distance
    } else if (order_phase_ && repairs_) {
      order_phase_ = false;  // the order is stuck: the pairing is in question
    } else if (!repairs_ && may_repair_) {
      order_phase_ = false;
      repairs_ = true;  // the pairing looked sure, but the data disagree
    } else {
      break;
    }
  }
  end_epoch();
  return improved;
}

bool Engine::descent_step(std::size_t window, bool repairs) {
  const std::vector<Block> blocks = screen_.blocks();  // ahead of fine_ during an epoch
  if (window >= blocks.size()) ++stats_.wide_steps;
  const std::vector<Candidate> candidates = predict_moves(blocks, window, repairs);
  if (candidates.empty() || should_stop()) return false;
  return screen_candidates(blocks, candidates, window);
}

// A step taken on the table's rows only: the subset rows are evaluated once for a few steps.
void Engine::take_on_screen(const std::vector<Block>& blocks, std::size_t from) {
  if (epoch_steps_ == 0) {
    epoch_start_ = fine_.blocks();
    epoch_start_sse_ = fine_.sse();
    epoch_from_ = from;
  }
  screen_.set(blocks, from);
  epoch_from_ = std::min(epoch_from_, from);
  if (++epoch_steps_ >= tuning_.epoch_steps || screen_.mse() <= tolerance_) end_epoch();
}

// Brings the subset rows up to the screen's assembly. If that made them worse (the table's rows
// mislead more often far from the answer), the epoch is undone and the next few steps are
// confirmed on all subset rows.
bool Engine::end_epoch() {
  if (epoch_steps_ == 0) return false;
  epoch_steps_ = 0;
  fine_.set(screen_.blocks(), epoch_from_);
  const bool better = fine_.sse() < epoch_start_sse_;
  if (!better) {
    ++stats_.epochs_undone;
    fine_.set(epoch_start_, epoch_from_);
    confirm_steps_ = tuning_.epoch_pause;
  }
  refresh_screen();
  return better;
}

// The proof on every data row. The subset rows are not run again when the assembly is the one
// they hold.
Fit Engine::fit_all_rows(const Assembly& assembly) {
  Fit fit =
      assembly.blocks == fine_.blocks()
          ? fit_outputs(network_outputs(net_, assembly, data_, pool_, fine_.row_indices(), fine_.outputs()),
                        data_, assembly.blocks.size())
          : fit_outputs(network_outputs(net_, assembly, data_, pool_), data_, assembly.blocks.size());
  allow_for_storage(fit, puzzle_, assembly, data_, pool_);
  return fit;
}

double start_fit_ratio(double start_sse, std::vector<double> shuffled_sse) {
  if (shuffled_sse.empty()) return std::numeric_limits<double>::infinity();
  // The median: one lucky or unlucky shuffle must not decide.
  const std::size_t mid = shuffled_sse.size() / 2;
  std::nth_element(shuffled_sse.begin(), shuffled_sse.begin() + std::ptrdiff_t(mid), shuffled_sse.end());
  // Blocks that fit in any order say nothing about this one.
  if (!(shuffled_sse[mid] > 0)) return std::numeric_limits<double>::infinity();
  return start_sse / shuffled_sse[mid];
}

bool start_is_informed(double fit_ratio, double start_sse, double best_shuffle_sse,
                       const SearchTuning& tuning) {
  // Both tests: the median's alone let a lucky shuffle through where random orders' fits have a
  // floor near it (SearchTuning::start_beats_best has the measurements).
  return fit_ratio < tuning.start_informed && start_sse < tuning.start_beats_best * best_shuffle_sse;
}

SearchResult Engine::run(const std::vector<Assembly>& starts) {
  HUMPTY_ASSERT(!starts.empty());
  SearchResult result;
  std::size_t repaired = 0;
  double best_start = std::numeric_limits<double>::infinity();
  std::size_t chosen = 0;
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const Assembly& start = starts[k];
    // A start that contradicts a pair the pairing score is sure of starts with it repaired:
    // with the order unknown, the data cannot yet tell a wrong pair from a misplaced right one.
    // The search can still undo the repair if the data disagree.
    std::vector<Block> blocks = with_sure_pairs(start.blocks);
    repaired += blocks != start.blocks;
    // Starts are compared on the screen's rows (spread evenly until a first commit); only the
    // chosen one is run on all subset rows.
    screen_.set(blocks);
    if (screen_.sse() < best_start) {
      best_start = screen_.sse();
      best_ = blocks;
      chosen = k;
    }
  }
  if (repaired > 0 && options_.log) {
    options_.log("search", format_text("%zu start(s) contradicted pairs the pairing score is sure of (or the "
                                       "caller gave); repaired",
                                       repaired));
  }
  // A caller's start (not the solver's reorderings of it) is compared with random orders of its
  // own blocks on the same screen rows, drawn from a generator of its own so that the search's
  // stream is the same either way.
  double fit_ratio = std::numeric_limits<double>::infinity(), best_shuffle = 0;
  if (chosen < options_.starts_given && tuning_.start_shuffles > 0 && best_.size() > 1) {
    Rng shuffle_rng(stream_seed(options_.seed, 0x5747));
    std::vector<double> shuffled;
    std::vector<Block> order = best_;
    for (std::size_t s = 0; s < tuning_.start_shuffles; ++s) {
      for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(i + 1)]);
      screen_.set(order);
      shuffled.push_back(screen_.sse());
    }
    best_shuffle = *std::min_element(shuffled.begin(), shuffled.end());
    fit_ratio = start_fit_ratio(best_start, std::move(shuffled));
  }
  const bool informed = start_is_informed(fit_ratio, best_start, best_shuffle, tuning_);
  if (stored_mantissa_bits(puzzle_) < 23) {
    // Half-precision pieces: no assembly reproduces pred at float rounding, so exact means within
    // what the rounding of the weights explains. Taken at the start (the level is of the same order
    // at every assembly); where the search stops, fit_all_rows takes it again there. A level too
    // coarse to prove anything (rows_to_prove) would stop the search at the first assembly near
    // the answer: then the search runs on to its best fit instead.
    const StorageLevel level = storage_level(puzzle_, {best_, puzzle_.last_piece}, data_, pool_);
    const double widened = tolerance_ + level.mse;
    const bool provable = rows_to_prove(best_.size(), data_, widened) <= data_.rows;
    if (provable) tolerance_ = widened;
    if (options_.log) {
      const char* format = level.bits == 7 ? "bfloat16" : "float16";
      options_.log("search",
                   provable ? format_text("pieces stored as %s: exact means mse <= %.3g, what rounding "
                                          "the weights to it explains (x%g)",
                                          format, tolerance_, kStorageMargin)
                            : format_text("pieces stored as %s: what rounding the weights to it explains "
                                          "(mse %.3g) cannot prove an assembly on these rows; searching "
                                          "for the best fit",
                                          format, widened));
    }
  }
  own_pairs_ = options_.starts_given == 0 && std::all_of(best_.begin(), best_.end(),
                           [&](const Block& b) { return score_partner_[std::size_t(b.inp)] == b.out; });
  commit(best_, 0);
  if (options_.log) {
    options_.log("search", format_text("start: mse %.6g on %.0f rows (%.0f starts), threads %.0f",
                                       best_sse_ / double(fine_.rows()), double(fine_.rows()),
                                       double(starts.size()), double(pool_.size())));
  }
  std::size_t rounds_without_best = 0, rounds_stale = 0;
  bool kicked_last = false;
  // A start this far off is not worth a descent: on 64 blocks the first descent took seconds to
  // reach a basin the relaxation then had to leave anyway.
  // A caller's start that fits far better than random orders of its blocks is descended first
  // whatever its error (SearchTuning::start_informed and start_beats_best have the measurements).
  const bool far_off = best_sse_ > tuning_.relax_first_above * pred_variance_ * double(fine_.rows());
  if (far_off && std::isfinite(fit_ratio) && options_.log) {
    options_.log("search",
                 format_text("the start fits at %.3g x the median of %zu random orders of its blocks "
                             "(%.3g x the best): %s",
                             fit_ratio, tuning_.start_shuffles,
                             best_shuffle > 0 ? best_start / best_shuffle : INFINITY,
                             informed ? "descending from it first" : "relaxing at once"));
  }
  bool relaxed_last = far_off && !informed && relax();
  while (true) {
    double before = best_sse_;
    descend();
    if (exact_on_subset()) {
      // The subset says exact; all rows must agree before the search stops.
      result.assembly = {fine_.blocks(), puzzle_.last_piece};
      result.fit = fit_all_rows(result.assembly);
      if (result.fit.exact()) {
        confirmed_exact_ = true;
        stopped_ = StopReason::exact;
        break;
      }
      unconfirmed_ = true;
    }
    if (should_stop()) break;
    if (best_sse_ < before) {
      rounds_without_best = 0;
      rounds_stale = 0;
      stale_rounds_ = 0;
    } else {
      ++stale_rounds_;
      if (keep_sure_ && ++rounds_stale >= tuning_.keep_sure_rounds) {
        // So many rounds without a new best: the sure pairs themselves are in question. (No sure
        // pair of the suites' nets is wrong, by SearchTuning::sure_lead; a hand-made wrong one is
        // repaired this way, test_search.)
        keep_sure_ = false;
        sure_lifted_ = true;
        if (options_.log) {
          options_.log(
              "search",
              format_text("%zu rounds without a new best: repairs may now break sure pairs", rounds_stale));
        }
      }
      if (((options_.time_limit <= 0 || options_.stop_when_stuck) &&
           ++rounds_without_best >= tuning_.stuck_rounds) ||
          unconfirmed_) {
        // Without a time limit the search stops once rounds stop paying; with one, it uses it.
        stopped_ = StopReason::stuck;
        break;
      }
    }
    // A stuck round ends in a relaxation (a new start from the soft order: it moves many blocks
    // at once, but keeps the pairs) or in annealing (which also repairs pairs): relaxations
    // follow each other while the descent from them lowers the best error by relax_gain or more,
    // and otherwise alternate with annealing (a relaxation nearly always finds some new best:
    // with wrong pairs, rounds of it that each gained a little left no time for the repairs).
    // A kick (search_kick.cpp) takes annealing's turn where there is one; the round after it
    // relaxes from where the kick's descent got, unless that was a new best anyway. Below
    // flip_below a flip chain (search_flip.cpp) comes first, once per best (above flip_near once
    // a search): where it worked it reached orders the relaxation and the descent did not (the
    // MSE there no guide), and a relaxation follows it in the next stuck round.
    const bool relax_paid = relaxed_last && best_sse_ < (1 - tuning_.relax_gain) * before;
    if (kicked_last) {
      kicked_last = false;
      if (best_sse_ >= before) kick_base_ = fine_.blocks();
      relaxed_last = relax();
      kick_base_.clear();
      if (!relaxed_last) anneal();
    } else if (flip()) {
      relaxed_last = false;
    } else {
      relaxed_last = (relax_paid || !relaxed_last) && relax();
      kicked_last = !relaxed_last && tuning_.kick && kick();
      if (!relaxed_last && !kicked_last && !flip()) anneal();
    }
    if (should_stop()) break;
  }
  if (!confirmed_exact_) {
    result.assembly = {best_, puzzle_.last_piece};
    result.fit = fit_all_rows(result.assembly);
  }
  result.stopped = stopped_;
  result.moves = stats_.moves;
  result.block_rows = block_rows();
  result.seconds = seconds_since(start_);
  result.subset_rows = fine_.rows();
  result.steps = stats_.steps;
  result.wide_steps = stats_.wide_steps;
  result.epochs_undone = stats_.epochs_undone;
  result.predicted = stats_.predicted;
  result.screened = stats_.screened;
  result.screened_better = stats_.screened_better;
  result.anneal_rounds = stats_.anneal_rounds;
  result.anneal_proposed = stats_.anneal_proposed;
  result.anneal_accepted = stats_.anneal_accepted;
  result.relax_rounds = stats_.relax_rounds;
  result.relax_steps = stats_.relax_steps;
  result.kicks = stats_.kicks;
  result.flip_rounds = stats_.flip_rounds;
  result.sure_pairs = sure_pairs_;
  result.sure_lifted = sure_lifted_;
  result.trace = trace_;
  progress(true);
  return result;
}

}  // namespace humpty
