// Searching pairings and orders against the data.
//
// The search alternates two phases, both scored by the squared error against `pred` on a subset
// of the rows:
//
// Descent. One backward pass gives, for every row, the sensitivity U_p = dy/dS_p of the output to
// the residual stream S_p before each position. With it, one evaluation of a block b at position
// p predicts, to first order, what inserting b there does to every output (U_p . f_b(S_p)) and
// what replacing the block at p with it does (U_{p+1} . f_b(S_p)). From a table of those, the
// effect of every insertion, swap and pairing repair in a window is predicted at once, and only
// the most promising moves are evaluated exactly: first on the few rows the table used, then the
// best on all subset rows. Several predicted improvements that touch disjoint positions are also
// tried together. The prediction is good enough that the top candidate is nearly always a real
// improvement, so a step costs a few evaluations instead of one per move. The table's rows are
// "telling" rows, half of them where the error is largest now, as the error is concentrated in
// few rows. A local step fills the table on its first chunk of rows for every move and on the
// rest only for a shortlist of the best, and takes its step on the table's rows alone; every
// kEpochSteps such steps are checked together on all subset rows (and undone if they made them
// worse). A wide step (when nothing nearby helps) looks at moves of any distance and every pair
// repair, some followed by moving a repaired block where the table likes it best.
//
// Annealing. When no move in the whole neighbourhood improves, deterministic simulated annealing
// (the project's seeded generator, a geometric temperature schedule) walks on a small row sample
// with random moves of every kind, and descent resumes from the best point it found. Without a
// time limit, kStuckRounds rounds without a new best end the search, which then says so.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "evaluator.hpp"
#include "humpty/solve.hpp"
#include "moves.hpp"
#include "network.hpp"
#include "rng.hpp"
#include "text.hpp"

namespace humpty {
namespace {

constexpr std::size_t kDefaultRows = 1024;        // subset rows scored by default
constexpr std::size_t kScreenChunks = 3;          // chunks of rows the prediction table uses
constexpr std::size_t kAnnealChunks = 4;          // chunks of rows annealing scores on
constexpr std::size_t kLocalWindow = 4;           // positions a block may move in a local step
constexpr std::size_t kRepairRivals = 4;          // repairs consider the best-scoring outs of each inp
constexpr std::size_t kScreenBatch = 4;           // single moves checked exactly on the table's rows
constexpr std::size_t kShortlistPer3Blocks = 10;  // moves predicted again on all table rows, per 3 blocks
constexpr std::size_t kEpochSteps = 2;            // steps taken on the table's rows before a check
constexpr std::size_t kEpochPause = 3;            // steps confirmed on the subset after a failed epoch
constexpr std::size_t kDeepScreen = 1024;         // single moves checked in a wide step at most
constexpr std::size_t kDeepConfirm = 16;          // the same in a wide step
constexpr std::size_t kConfirmBatch = 3;          // of those, checked on all subset rows
constexpr std::size_t kStuckRounds = 8;           // annealing rounds without a new best
constexpr std::size_t kAnnealProposals = 4000;    // proposals per annealing round (per 48 blocks)
constexpr double kProgressSeconds = 1.0;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A predicted or measured move.
// A predicted move: one move, or a repair followed by moving the repaired block elsewhere (a
// repaired block is seldom already in the right place: the search will have moved a wrong pair to
// where it does least harm).
struct Candidate {
  Move moves[2];
  std::size_t count = 1;
  double estimate = 0;  // predicted change of the table rows' squared error

  void apply(std::vector<Block>& blocks) const {
    for (std::size_t k = 0; k < count; ++k) apply_move(blocks, moves[k]);
  }
  std::size_t first() const {
    return count == 1 ? first_changed(moves[0]) : std::min(first_changed(moves[0]), first_changed(moves[1]));
  }
  std::size_t last() const {
    return count == 1 ? last_changed(moves[0]) : std::max(last_changed(moves[0]), last_changed(moves[1]));
  }
};

class Engine {
 public:
  Engine(const Puzzle& puzzle, const Dataset& data, const SearchOptions& options);
  SearchResult run(const std::vector<Assembly>& starts);

 private:
  bool should_stop();
  bool exact_on_subset() const { return fine_.mse() <= tolerance_; }
  // Block evaluations times rows, every evaluator's.
  std::uint64_t block_rows() const { return fine_.block_rows() + screen_.block_rows() + walk_.block_rows(); }
  void commit(const std::vector<Block>& blocks, std::size_t from);
  void refresh_screen();
  std::vector<std::size_t> telling_rows(std::size_t count) const;
  void note_best();
  void progress(bool force);
  bool descend();
  bool descent_step(std::size_t window, bool repairs);
  void take_on_screen(const std::vector<Block>& blocks, std::size_t from);
  bool end_epoch();
  Fit fit_all_rows(const Assembly& assembly);
  void anneal();
  std::vector<Block> with_sure_pairs(std::vector<Block> blocks) const;
  Move random_move(std::size_t n, bool repairs);
  Candidate random_change(std::size_t n, bool repairs);

  const Puzzle& puzzle_;
  const Dataset& data_;
  SearchOptions options_;
  ThreadPool pool_;
  PackedPuzzle net_;
  Evaluator fine_;    // the subset rows: the search's objective
  Evaluator screen_;  // the first rows of the subset: prediction table and first checks
  Evaluator walk_;    // a small sample for annealing
  std::vector<Evaluator::Scratch> scratch_;
  Rng rng_;
  double tolerance_ = 0;
  std::vector<std::vector<int>> rivals_;  // rivals_[inp piece]: its best-scoring out pieces
  std::vector<int> sure_partner_;         // sure_partner_[inp piece]: its sure out piece, or -1
  bool repairs_ = false;
  std::vector<Block> best_;
  double best_sse_ = std::numeric_limits<double>::infinity();
  bool confirmed_exact_ = false;
  bool unconfirmed_ = false;  // the subset looked exact but all rows did not
  // An epoch: steps taken on the table's rows alone, checked on all subset rows at its end.
  std::size_t epoch_steps_ = 0, epoch_from_ = 0;
  std::vector<Block> epoch_start_;
  double epoch_start_sse_ = 0;
  std::size_t confirm_steps_ = 0;  // after an epoch that made the subset worse: steps to confirm
  std::string stopped_;
  std::uint64_t moves_ = 0;
  std::uint64_t steps_ = 0, epochs_undone_ = 0, anneal_rounds_ = 0, anneal_accepted_ = 0;
  std::vector<TracePoint> trace_;
  Clock::time_point start_ = Clock::now();
  double last_progress_ = 0;
};

// `count` of the given rows, spread evenly over them.
std::vector<std::size_t> sample_rows(const std::vector<std::size_t>& rows, std::size_t count) {
  std::vector<std::size_t> sample;
  for (std::size_t k : spread_rows(rows.size(), count)) sample.push_back(rows[k]);
  return sample;
}

Engine::Engine(const Puzzle& puzzle, const Dataset& data, const SearchOptions& options)
    : puzzle_(puzzle),
      data_(data),
      options_(options),
      pool_(options.threads),
      net_(pack_puzzle(puzzle)),
      fine_(net_, data, spread_rows(data.rows, options.rows ? options.rows : kDefaultRows), pool_),
      screen_(net_, data,
              sample_rows(spread_rows(data.rows, options.rows ? options.rows : kDefaultRows),
                          kScreenChunks * kChunkRows),
              pool_),
      walk_(net_, data,
            sample_rows(spread_rows(data.rows, options.rows ? options.rows : kDefaultRows),
                        kAnnealChunks * kChunkRows),
            pool_),
      scratch_(std::size_t(pool_.size())),
      rng_(options.seed),
      tolerance_(rounding_tolerance(data)) {
  screen_.keep_hidden();
  // Repairs look first at the outs that score best with each inp: the right partner is nearly
  // always among them even where the pairing score picked wrongly.
  const Pairing own_pairing = options.pairing ? Pairing() : pair_layers(puzzle, options.threads);
  const Pairing& pairing = options.pairing ? *options.pairing : own_pairing;
  const std::size_t n = puzzle.blocks();
  rivals_.assign(puzzle.pieces.size(), {});
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> outs(n);
    std::iota(outs.begin(), outs.end(), std::size_t(0));
    std::stable_sort(outs.begin(), outs.end(), [&](std::size_t a, std::size_t b) {
      return pairing.table[i * n + a] > pairing.table[i * n + b];
    });
    for (std::size_t k = 0; k < std::min(kRepairRivals, n); ++k) {
      rivals_[std::size_t(puzzle.inp_pieces[i])].push_back(puzzle.out_pieces[outs[k]]);
    }
  }
  repairs_ = options.repair_pairs && pairing.sure < n;
  sure_partner_.assign(puzzle.pieces.size(), -1);
  for (std::size_t i = 0; i < n; ++i) {
    if (pairing.is_sure[i]) sure_partner_[std::size_t(pairing.blocks[i].inp)] = pairing.blocks[i].out;
  }
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
    stopped_ = "interrupted";
    return true;
  }
  if (options_.time_limit > 0 && seconds_since(start_) >= options_.time_limit) {
    stopped_ = "time limit";
    return true;
  }
  return false;
}

void Engine::commit(const std::vector<Block>& blocks, std::size_t from) {
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

void Engine::progress(bool force) {
  double elapsed = seconds_since(start_);
  if (!options_.log || (!force && elapsed - last_progress_ < kProgressSeconds)) return;
  last_progress_ = elapsed;
  options_.log("search",
               format_text("best mse %.3e on %.0f rows, %.0f moves (%.0f/s), %.2fM block-rows/s, %.2fs",
                           best_sse_ / double(fine_.rows()), double(fine_.rows()), double(moves_),
                           double(moves_) / std::max(elapsed, 1e-9),
                           double(block_rows()) / std::max(elapsed, 1e-9) / 1e6, elapsed));
}

bool Engine::descend() {
  bool improved = false;
  std::size_t window = kLocalWindow;
  const std::size_t n = fine_.positions();
  while (!exact_on_subset() && !should_stop()) {
    if (descent_step(window, repairs_)) {
      ++steps_;
      improved = true;
      window = kLocalWindow;
    } else if (window < n) {
      window = n;  // nothing nearby: look at moves of any distance
    } else if (!repairs_ && options_.repair_pairs) {
      repairs_ = true;  // the pairing looked sure, but the data disagree
    } else {
      break;
    }
  }
  end_epoch();
  return improved;
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
  if (++epoch_steps_ >= kEpochSteps || screen_.mse() <= tolerance_) end_epoch();
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
    ++epochs_undone_;
    fine_.set(epoch_start_, epoch_from_);
    confirm_steps_ = kEpochPause;
  }
  refresh_screen();
  return better;
}

// The proof on every data row. The subset rows are not run again when the assembly is the one
// they hold.
Fit Engine::fit_all_rows(const Assembly& assembly) {
  if (assembly.blocks == fine_.blocks()) {
    return fit_outputs(network_outputs(net_, assembly, data_, pool_, fine_.row_indices(), fine_.outputs()),
                       data_);
  }
  return fit_outputs(network_outputs(net_, assembly, data_, pool_), data_);
}

bool Engine::descent_step(std::size_t window, bool repairs) {
  const std::vector<Block> blocks = screen_.blocks();  // ahead of fine_ during an epoch
  const std::size_t n = blocks.size(), dp = net_.dim_padded;
  const std::size_t rows = screen_.rows(), chunks = screen_.chunks();
  screen_.compute_sensitivities(chunks);

  std::vector<double> error(rows);
  for (std::size_t c = 0; c < chunks; ++c) {
    for (std::size_t r = 0; r < screen_.chunk_rows(c); ++r) {
      error[c * kChunkRows + r] =
          double(output_of(net_, screen_.stream(n, c) + r * dp)) - screen_.targets(c)[r];
    }
  }

  // Probes: a block evaluated at a position. probe_at[j * (n + 1) + p] indexes the probe of the
  // block now at j placed at p; repair probes are mismatched blocks.
  struct Probe {
    Block block;
    std::size_t position;
  };
  std::vector<Probe> probes;
  std::vector<long> probe_at((n + 1) * n, -1);
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t low = j > window ? j - window : 0, high = std::min(n, j + window + 1);
    for (std::size_t p = low; p <= high; ++p) {
      if (p == j + 1) continue;  // no move puts the block there: it is where it is now
      probe_at[j * (n + 1) + p] = long(probes.size());
      probes.push_back({blocks[j], p});
    }
  }
  struct RepairPair {
    std::size_t i, j;
    long x_at_i, y_at_j, y_at_i, x_at_j;  // X = (inp_i, out_j), Y = (inp_j, out_i)
    long x_before = -1, y_before = -1;    // in wide steps: X (Y) before positions 0..n
  };
  std::vector<RepairPair> repair_pairs;
  if (repairs) {
    // A local step repairs towards the outs the pairing score likes for each inp; a wide step
    // tries every pair, since in some networks the score says little (or the opposite).
    auto is_rival = [&](int inp, int out) {
      const auto& list = rivals_[std::size_t(inp)];
      return window >= n || std::find(list.begin(), list.end(), out) != list.end();
    };
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        if (!is_rival(blocks[i].inp, blocks[j].out) && !is_rival(blocks[j].inp, blocks[i].out)) continue;
        Block x{blocks[i].inp, blocks[j].out}, y{blocks[j].inp, blocks[i].out};
        RepairPair pair{i,
                        j,
                        long(probes.size()),
                        long(probes.size()) + 1,
                        long(probes.size()) + 2,
                        long(probes.size()) + 3};
        probes.push_back({x, i});
        probes.push_back({y, j});
        probes.push_back({y, i});
        probes.push_back({x, j});
        repair_pairs.push_back(pair);
      }
    }
  }

  // For each probe and table row: U_p . f(S_p) (insert before p) and U_{p+1} . f(S_p) (replace p).
  std::vector<float> insert_value, replace_value;
  // Evaluates probes list[...] on table chunks [first_chunk, last_chunk).
  auto run_probes = [&](const std::vector<std::size_t>& list, std::size_t first_chunk,
                        std::size_t last_chunk) {
    insert_value.resize(probes.size() * rows);
    replace_value.resize(probes.size() * rows);
    pool_.run(list.size(), [&](std::size_t task, int worker) {
      const std::size_t k = list[task];
      Evaluator::Scratch& s = scratch_[std::size_t(worker)];
      s.stream.resize(kChunkRows * dp);
      s.hidden.resize(kChunkRows * net_.hidden_padded);
      const Probe& probe = probes[k];
      for (std::size_t c = first_chunk; c < last_chunk; ++c) {
        const std::size_t count = screen_.chunk_rows(c);
        const float* before = screen_.stream(probe.position, c);
        std::copy_n(before, kChunkRows * dp, s.stream.data());
        run_block(net_.piece(probe.block.inp), net_.piece(probe.block.out), s.stream.data(), count,
                  s.hidden.data());
        const float* u_here = screen_.sensitivity_at(probe.position, c);
        const float* u_next = probe.position < n ? screen_.sensitivity_at(probe.position + 1, c) : nullptr;
        const std::size_t at = k * rows + c * kChunkRows;
        dot_differences(u_here, s.stream.data(), before, dp, count, dp, insert_value.data() + at);
        if (u_next) {
          dot_differences(u_next, s.stream.data(), before, dp, count, dp, replace_value.data() + at);
        } else {
          std::fill_n(replace_value.data() + at, count, 0.0f);
        }
      }
    });
    std::size_t chunk_rows = 0;
    for (std::size_t c = first_chunk; c < last_chunk; ++c) chunk_rows += screen_.chunk_rows(c);
    fine_.count_block_rows(std::uint64_t(list.size()) * chunk_rows);
  };
  auto probes_from = [&](std::size_t first) {
    std::vector<std::size_t> list(probes.size() - first);
    std::iota(list.begin(), list.end(), first);
    return list;
  };
  // A local step predicts every move on the first chunk of the table, then the most promising
  // again on all of it: the first chunk sorts out most moves for a third of the work.
  const bool shortlist = window < n && chunks > 1;
  std::size_t predict_rows = shortlist ? screen_.chunk_rows(0) : rows;
  run_probes(probes_from(0), 0, shortlist ? 1 : chunks);

  // Predicted change of the table rows' squared error for an output change sum_k sign_k value_k.
  struct Term {
    const std::vector<float>* values;
    long probe;
    double sign;
  };
  auto predict = [&](const Term* terms, std::size_t count) {
    double change = 0;
    for (std::size_t r = 0; r < predict_rows; ++r) {
      double dy = 0;
      for (std::size_t k = 0; k < count; ++k) {
        dy += terms[k].sign * double((*terms[k].values)[std::size_t(terms[k].probe) * rows + r]);
      }
      change += dy * (2 * error[r] + dy);
    }
    return change;
  };
  auto at = [&](std::size_t j, std::size_t p) { return probe_at[j * (n + 1) + p]; };
  std::vector<Candidate> candidates;
  struct Terms {
    std::array<Term, 4> terms;
    std::size_t count;
  };
  auto estimate = [&](const Terms& t) { return predict(t.terms.data(), t.count); };
  std::vector<Terms> candidate_terms;  // what each candidate's estimate is made of
  auto add = [&](std::initializer_list<Move> moves, std::initializer_list<Term> terms) {
    Candidate c;
    c.count = 0;
    for (const Move& m : moves) c.moves[c.count++] = m;
    Terms made{{}, terms.size()};
    std::copy(terms.begin(), terms.end(), made.terms.begin());
    c.estimate = estimate(made);
    candidate_terms.push_back(made);
    candidates.push_back(c);
  };
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t low = j > window ? j - window : 0, high = std::min(n - 1, j + window);
    for (std::size_t i = low; i <= high; ++i) {
      if (i == j) continue;
      // Insert the block at j before position i (i < j) or after position i (i > j).
      long target = at(j, i < j ? i : i + 1);
      add({Move{MoveKind::insert, j, i, 0}}, {{&insert_value, target, 1}, {&replace_value, at(j, j), -1}});
      if (i > j + 1) {
        add({Move{MoveKind::swap, j, i, 0}}, {{&replace_value, at(i, j), 1},
                                              {&replace_value, at(j, j), -1},
                                              {&replace_value, at(j, i), 1},
                                              {&replace_value, at(i, i), -1}});
      }
    }
  }
  // Plain repairs: exchange the out (or inp) layers of two blocks where they are.
  std::vector<double> pair_estimate;
  for (const RepairPair& pair : repair_pairs) {
    const std::size_t i = pair.i, j = pair.j;
    const Term remove_i{&replace_value, at(i, i), -1}, remove_j{&replace_value, at(j, j), -1};
    add({Move{MoveKind::exchange_out, i, j, 0}},
        {{&replace_value, pair.x_at_i, 1}, remove_i, {&replace_value, pair.y_at_j, 1}, remove_j});
    const double out_estimate = candidates.back().estimate;
    add({Move{MoveKind::exchange_inp, i, j, 0}},
        {{&replace_value, pair.y_at_i, 1}, remove_i, {&replace_value, pair.x_at_j, 1}, remove_j});
    const double inp_estimate = candidates.back().estimate;
    pair_estimate.push_back(std::min(out_estimate, inp_estimate));
  }
  if (shortlist) {
    // The best moves by the first chunk, predicted again on every table row.
    std::vector<std::size_t> best(candidates.size());
    std::iota(best.begin(), best.end(), std::size_t(0));
    std::stable_sort(best.begin(), best.end(), [&](std::size_t a, std::size_t b) {
      return candidates[a].estimate < candidates[b].estimate;
    });
    best.resize(std::min(best.size(), (kShortlistPer3Blocks * n + 2) / 3));
    std::vector<char> needed(probes.size(), 0);
    for (std::size_t c : best) {
      for (std::size_t k = 0; k < candidate_terms[c].count; ++k) {
        needed[std::size_t(candidate_terms[c].terms[k].probe)] = 1;
      }
    }
    std::vector<std::size_t> list;
    for (std::size_t k = 0; k < probes.size(); ++k) {
      if (needed[k]) list.push_back(k);
    }
    run_probes(list, 1, chunks);
    predict_rows = rows;
    std::vector<Candidate> shortlisted;
    for (std::size_t c : best) {
      shortlisted.push_back(candidates[c]);
      shortlisted.back().estimate = estimate(candidate_terms[c]);
    }
    candidates = std::move(shortlisted);
  }
  // In a wide step, the most promising repairs are also tried with one of the two new blocks
  // moved to the place the prediction likes best: a repaired block is seldom already in the
  // right place, as the search will have moved a wrong pair to where it does least harm. Only
  // the best 2N pairs get the N + 1 probes per block this needs.
  if (window >= n && !repair_pairs.empty()) {
    std::vector<std::size_t> chosen(repair_pairs.size());
    std::iota(chosen.begin(), chosen.end(), std::size_t(0));
    std::stable_sort(chosen.begin(), chosen.end(),
                     [&](std::size_t a, std::size_t b) { return pair_estimate[a] < pair_estimate[b]; });
    chosen.resize(std::min(chosen.size(), 2 * n));
    const std::size_t first_probe = probes.size();
    for (std::size_t c : chosen) {
      RepairPair& pair = repair_pairs[c];
      Block x{blocks[pair.i].inp, blocks[pair.j].out}, y{blocks[pair.j].inp, blocks[pair.i].out};
      pair.x_before = long(probes.size());
      for (std::size_t p = 0; p <= n; ++p) probes.push_back({x, p});
      pair.y_before = long(probes.size());
      for (std::size_t p = 0; p <= n; ++p) probes.push_back({y, p});
    }
    run_probes(probes_from(first_probe), 0, chunks);
    for (std::size_t c : chosen) {
      const RepairPair& pair = repair_pairs[c];
      const std::size_t i = pair.i, j = pair.j;
      const Term remove_i{&replace_value, at(i, i), -1}, remove_j{&replace_value, at(j, j), -1};
      const Term x_at_i{&replace_value, pair.x_at_i, 1}, y_at_j{&replace_value, pair.y_at_j, 1};
      const Term y_at_i{&replace_value, pair.y_at_i, 1}, x_at_j{&replace_value, pair.x_at_j, 1};
      const Move exchange_out{MoveKind::exchange_out, i, j, 0}, exchange_inp{MoveKind::exchange_inp, i, j, 0};
      // `stays` is the other new block where the repair left it; the moving one was left at
      // `moved_from` and goes before position p of the current order.
      auto relocate = [&](const Move& repair, long before, const Term& stays, std::size_t moved_from) {
        double best = std::numeric_limits<double>::infinity();
        std::size_t best_p = 0;
        for (std::size_t p = 0; p <= n; ++p) {
          if (p == moved_from || p == moved_from + 1) continue;
          const Term terms[] = {{&insert_value, before + long(p), 1}, stays, remove_i, remove_j};
          const double change = predict(terms, 4);
          if (change < best) {
            best = change;
            best_p = p;
          }
        }
        if (best < std::numeric_limits<double>::infinity()) {
          std::size_t target = best_p < moved_from ? best_p : best_p - 1;
          add({repair, Move{MoveKind::insert, moved_from, target, 0}},
              {{&insert_value, before + long(best_p), 1}, stays, remove_i, remove_j});
        }
      };
      relocate(exchange_out, pair.x_before, y_at_j, i);  // X from i
      relocate(exchange_out, pair.y_before, x_at_i, j);  // Y from j
      relocate(exchange_inp, pair.x_before, y_at_i, j);  // X from j
      relocate(exchange_inp, pair.y_before, x_at_j, i);  // Y from i
    }
  }
  moves_ += candidates.size();
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.estimate < b.estimate; });
  if (candidates.empty()) return false;

  // Predicted improvements that touch disjoint positions, best first, applied together: the best
  // 2, 4, 8, ... of them, as the predictions add up only approximately.
  std::vector<std::vector<Block>> trial;
  std::vector<std::size_t> from;
  {
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
  // Then single moves, best predicted first, in growing batches. Far from the answer the
  // prediction is rough, so when the first batch holds no improvement the search goes down the
  // list (in a wide step, up to kDeepScreen moves) before calling this a local optimum.
  const std::size_t limit = std::min(candidates.size(), window < n ? kScreenBatch : kDeepScreen);
  for (std::size_t next = 0, batch = kScreenBatch; next < limit; next += batch, batch *= 2) {
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
    moves_ += trial.size();
    std::vector<std::size_t> order(trial.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return screen_sse[a] < screen_sse[b]; });
    if (window < n && confirm_steps_ == 0) {
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
      if (!(screen_sse[k] < screen_.sse()) || confirmed++ == (window < n ? kConfirmBatch : kDeepConfirm))
        break;
      double sse = fine_.try_candidate(trial[k], from[k]);
      ++moves_;
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

Move Engine::random_move(std::size_t n, bool repairs) {
  // Kinds by weight; repairs only when the pairing is in question.
  static const struct {
    MoveKind kind;
    unsigned weight;
    bool repair;
  } kKinds[] = {{MoveKind::insert, 35, false},      {MoveKind::swap, 20, false},
                {MoveKind::reverse, 10, false},     {MoveKind::rotate_blocks, 5, false},
                {MoveKind::exchange_out, 15, true}, {MoveKind::exchange_inp, 10, true},
                {MoveKind::rotate_out, 5, true}};
  unsigned total = 0;
  for (const auto& k : kKinds) total += (!k.repair || repairs) ? k.weight : 0;
  unsigned pick = unsigned(rng_.below(total));
  MoveKind kind = MoveKind::insert;
  for (const auto& k : kKinds) {
    unsigned w = (!k.repair || repairs) ? k.weight : 0;
    if (pick < w) {
      kind = k.kind;
      break;
    }
    pick -= w;
  }
  // A second position near the first most of the time: most useful moves are short.
  auto partner = [&](std::size_t a) {
    std::size_t b;
    do {
      if (rng_.uniform() < 0.7) {
        long offset = long(rng_.below(9)) - 4;
        long candidate = long(a) + offset;
        b = candidate < 0 ? 0 : std::min<std::size_t>(std::size_t(candidate), n - 1);
      } else {
        b = std::size_t(rng_.below(n));
      }
    } while (b == a);
    return b;
  };
  Move move;
  move.kind = kind;
  move.a = std::size_t(rng_.below(n));
  move.b = partner(move.a);
  if (repairs && (kind == MoveKind::exchange_out || kind == MoveKind::exchange_inp)) {
    // Repairs pair blocks that may sit anywhere: the partner is drawn from all positions.
    do {
      move.b = std::size_t(rng_.below(n));
    } while (move.b == move.a);
  }
  if (kind == MoveKind::rotate_out || kind == MoveKind::rotate_blocks) {
    if (n < 3) {
      move.kind = MoveKind::swap;
    } else {
      do {
        move.c = partner(move.b);
      } while (move.c == move.a);
    }
  }
  return move;
}

// A random move; half of the repairs are followed by moving one of the two new blocks anywhere,
// as a repaired block is seldom in the right place already.
Candidate Engine::random_change(std::size_t n, bool repairs) {
  Candidate change;
  change.moves[0] = random_move(n, repairs);
  const Move& first = change.moves[0];
  if ((first.kind == MoveKind::exchange_out || first.kind == MoveKind::exchange_inp) &&
      rng_.uniform() < 0.5) {
    std::size_t from = rng_.uniform() < 0.5 ? first.a : first.b, to;
    do {
      to = std::size_t(rng_.below(n));
    } while (to == from);
    change.moves[1] = {MoveKind::insert, from, to, 0};
    change.count = 2;
  }
  return change;
}

void Engine::anneal() {
  const std::size_t n = fine_.positions();
  walk_.select_rows(data_, telling_rows(walk_.rows()));
  walk_.set(best_);
  double energy = walk_.sse();
  std::vector<Block> walk_best = best_;
  double walk_best_energy = energy;
  const std::size_t batch = std::size_t(std::max(2, 2 * pool_.size()));
  const std::size_t proposals = std::max<std::size_t>(kAnnealProposals, kAnnealProposals * n / 48);

  // The starting temperature: a typical uphill step from here is accepted one time in four.
  std::vector<double> uphill;
  {
    std::vector<std::vector<Block>> trial(4 * batch);
    std::vector<std::size_t> from(trial.size());
    for (std::size_t k = 0; k < trial.size(); ++k) {
      Candidate change = random_change(n, repairs_);
      trial[k] = walk_.blocks();
      change.apply(trial[k]);
      from[k] = change.first();
    }
    std::vector<double> sse(trial.size());
    pool_.run(trial.size(), [&](std::size_t k, int worker) {
      sse[k] = walk_.score(trial[k], from[k], 0, walk_.chunks(), scratch_[std::size_t(worker)],
                           std::numeric_limits<double>::infinity());
    });
    for (double s : sse) {
      if (s > energy) uphill.push_back(s - energy);
    }
  }
  if (uphill.empty()) return;
  ++anneal_rounds_;
  std::sort(uphill.begin(), uphill.end());
  const double start_temperature = uphill[uphill.size() / 2] / std::log(4.0);
  const double end_temperature = start_temperature * 1e-4;
  const double cooling = std::pow(end_temperature / start_temperature, 1.0 / double(proposals));
  double temperature = start_temperature;

  std::vector<std::vector<Block>> trial(batch);
  std::vector<std::size_t> from(batch);
  std::vector<double> limit(batch), sse(batch);
  for (std::size_t done = 0; done < proposals;) {
    if (should_stop()) return;
    for (std::size_t k = 0; k < batch; ++k) {
      Candidate change = random_change(n, repairs_);
      trial[k] = walk_.blocks();
      change.apply(trial[k]);
      from[k] = change.first();
      // Metropolis: accept when the new energy is below energy - T ln u, u uniform in (0, 1].
      limit[k] = energy - temperature * std::log(1.0 - rng_.uniform());
    }
    pool_.run(batch, [&](std::size_t k, int worker) {
      sse[k] = walk_.score(trial[k], from[k], 0, walk_.chunks(), scratch_[std::size_t(worker)], limit[k]);
    });
    moves_ += batch;
    for (std::size_t k = 0; k < batch; ++k) {
      ++done;
      temperature *= cooling;
      fine_.count_block_rows((n - from[k]) * walk_.rows());
      if (sse[k] < limit[k]) {
        ++anneal_accepted_;
        walk_.set(trial[k], from[k]);
        energy = walk_.sse();
        if (energy < walk_best_energy) {
          walk_best_energy = energy;
          walk_best = walk_.blocks();
        }
        break;  // the rest of the batch was proposed from the old state
      }
    }
    progress(false);
  }
  commit(walk_best, 0);
}

SearchResult Engine::run(const std::vector<Assembly>& starts) {
  SearchResult result;
  std::size_t repaired = 0;
  double best_start = std::numeric_limits<double>::infinity();
  for (const Assembly& start : starts) {
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
    }
  }
  if (repaired > 0 && options_.log) {
    options_.log(
        "search",
        format_text("%zu start(s) contradicted pairs the pairing score is sure of; repaired", repaired));
  }
  commit(best_, 0);
  if (options_.log) {
    options_.log("search", format_text("start: mse %.6g on %.0f rows (%.0f starts), threads %.0f",
                                       best_sse_ / double(fine_.rows()), double(fine_.rows()),
                                       double(starts.size()), double(pool_.size())));
  }
  std::size_t rounds_without_best = 0;
  while (true) {
    double before = best_sse_;
    descend();
    if (exact_on_subset()) {
      // The subset says exact; all rows must agree before the search stops.
      result.assembly = {fine_.blocks(), puzzle_.last_piece};
      result.fit = fit_all_rows(result.assembly);
      if (result.fit.exact()) {
        confirmed_exact_ = true;
        stopped_ = "exact";
        break;
      }
      unconfirmed_ = true;
    }
    if (should_stop()) break;
    if (best_sse_ < before) {
      rounds_without_best = 0;
    } else if ((options_.time_limit <= 0 && ++rounds_without_best >= kStuckRounds) || unconfirmed_) {
      // Without a time limit the search stops once rounds stop paying; with one, it uses it.
      stopped_ = "stuck";
      break;
    }
    anneal();
    if (should_stop()) break;
  }
  if (!confirmed_exact_) {
    result.assembly = {best_, puzzle_.last_piece};
    result.fit = fit_all_rows(result.assembly);
  }
  result.stopped = stopped_;
  result.moves = moves_;
  result.block_rows = block_rows();
  result.seconds = seconds_since(start_);
  result.subset_rows = fine_.rows();
  result.steps = steps_;
  result.epochs_undone = epochs_undone_;
  result.anneal_rounds = anneal_rounds_;
  result.anneal_accepted = anneal_accepted_;
  result.trace = trace_;
  progress(true);
  return result;
}


// One or two blocks: every assembly (at most 2 orders x 2 pairings), the best kept. The moves of
// the search need three blocks to draw distinct positions from.
SearchResult exhaustive_search(const Puzzle& puzzle, const Dataset& data, const SearchOptions& options) {
  const auto start = Clock::now();
  std::vector<int> outs = puzzle.out_pieces;
  std::sort(outs.begin(), outs.end());
  SearchResult result;
  bool first = true;
  do {
    std::vector<int> inps = puzzle.inp_pieces;
    std::sort(inps.begin(), inps.end());
    do {
      Assembly assembly;
      for (std::size_t b = 0; b < inps.size(); ++b) assembly.blocks.push_back({inps[b], outs[b]});
      assembly.last = puzzle.last_piece;
      const Fit fit = *evaluate(puzzle, assembly, data, options.threads);
      ++result.moves;
      result.block_rows += inps.size() * data.rows;
      if (first || fit.mse_pred < result.fit.mse_pred) {
        first = false;
        result.assembly = assembly;
        result.fit = fit;
        result.trace.push_back({seconds_since(start), fit.mse_pred});
      }
    } while (std::next_permutation(inps.begin(), inps.end()));
  } while (std::next_permutation(outs.begin(), outs.end()));
  result.stopped = result.fit.exact() ? "exact" : "stuck";
  result.subset_rows = data.rows;
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace

Result<SearchResult> search_assembly(const Puzzle& puzzle, const Dataset& data, const std::vector<Assembly>& starts,
                                     const SearchOptions& options) {
  if (Status status = check_data(puzzle, data); !status) return status;
  if (starts.empty()) return Status::failure("search_assembly needs at least one start");
  for (std::size_t k = 0; k < starts.size(); ++k) {
    if (Status status = check_assembly(puzzle, starts[k]); !status) {
      return Status::failure("start " + std::to_string(k) + ": " + status.message());
    }
  }
  if (puzzle.blocks() < 3) return exhaustive_search(puzzle, data, options);
  Engine engine(puzzle, data, options);
  return engine.run(starts);
}

}  // namespace humpty
