// search_engine.hpp - the data search's engine, one file per phase (as CaDiCaL keeps one per
// solver phase):
//
//   search_engine.cpp  the step policy: starts, descent rounds, epochs, stopping, the proof
//   search_table.cpp   the move table: first-order predictions of every move in a window
//   search_screen.cpp  candidates: combined and single moves, screened exactly, one step taken
//   search_anneal.cpp  annealing: random moves on a small row sample
//   search_relax.cpp   relaxation: a soft order (and soft pairing) trained on the data, rounded
//   search_kick.cpp    re-pairing kicks: the best's pairs blended with the weight score's
//   search_flip.cpp    flips: near the answer, the inverted pairs of blocks found by regression
//   search_global.cpp  whole-assembly phases: the entry point, exhaustive search of tiny puzzles
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
// tried together. The table's rows are "telling" rows, half of them where the error is largest
// now, as the error is concentrated in few rows. A local step fills the table on its first chunk
// of rows for every move and on the rest only for a shortlist of the best, and takes its step on
// the table's rows alone; every `epoch_steps` such steps are checked together on all subset rows
// (and undone if they made them worse). A wide step (when nothing nearby helps) looks at moves of
// any distance and every pair repair, some followed by moving a repaired block where the table
// likes it best.
//
// Annealing. When no move in the whole neighbourhood improves, deterministic simulated annealing
// (the project's seeded generator, a geometric temperature schedule) walks on a small row sample
// with random moves of every kind, and descent resumes from the best point it found.
//
// Relaxation. A start far from the answer, and a stuck descent while relaxing pays (else every
// other round, in place of annealing), get a new start from a soft order: every block a real
// depth, trained on the data in a network where each block is spread over the positions near its
// depth, then sorted (search_relax.cpp). It moves many blocks at once. Where some pairs are not
// sure, each unsure inp's out layer is also a mixture of the unsure outs (Sinkhorn-normalised
// weights, sinkhorn.cpp) trained with the depths, and the pairs are rounded by assignment. Later
// rounds far from the answer train a soft permutation of slots x blocks instead of the depths.
// Re-pairing kick. Where the weight score has signal, a stuck round that would anneal instead
// re-pairs the best assembly by assignment on the score plus a bonus for the best's own pairs
// (wrong pairs the data settled on compensate each other, so no single repair is downhill), the
// descent goes on from there, and the next relaxation starts from where it got.
// Flips. Below flip_below (MSE/var 0.3), a stuck round first (before any relaxation) regresses
// the error on every pair of blocks' predicted change of trading places, inverts the pairs that
// explain it, and repeats from the new order; the chain's best order is the next start (once per
// best; above flip_near, far from the answer, once a search).
// Without a time limit, `stuck_rounds` rounds without a new best end the search, which then says so.
#pragma once

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "assert.hpp"
#include "evaluator.hpp"
#include "humpty/solve.hpp"
#include "moves.hpp"
#include "network.hpp"
#include "rng.hpp"

namespace humpty {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A predicted or measured change: one move, or a repair followed by moving the repaired block
// elsewhere (a repaired block is seldom already in the right place: the search will have moved a
// wrong pair to where it does least harm).
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

// A soft order's schedule (search_relax.cpp): Adam steps on the depths, rows per step, each
// block's Gaussian width in slots at the start and every block's at the end (geometric in
// between), Adam's step size in slots.
struct RelaxSchedule {
  std::size_t steps = 400, batch = 64;
  // Rows a step before the fraction early_until of the steps (then batch): the wide start, where
  // steps cost the most (SearchTuning::relax_batch_early says what that was measured to do).
  std::size_t batch_early = 64;
  double early_until = 0;
  std::vector<double> sigma_start;  // one per block
  double sigma_end = 0.3, rate = 0.3;
  // A soft permutation instead of depths: a_kb = Sinkhorn(Z / temperature), Z starting at
  // -(k - t_b)^2 / 2 sigma_start_b^2 (flat for a wide start), the temperature falling from 1 to
  // temperature_end; Adam's step size on Z: logit_rate. Every check_every steps the rounded
  // order is scored by the caller's judge (if any) and the best is returned.
  bool permutation = false;
  double temperature_end = 0.02, logit_rate = 0.1;
  std::size_t check_every = 10;
};
struct RelaxStats {
  std::uint64_t steps = 0, block_rows = 0;
  double loss = 0;  // the last batch's MSE in the soft network
};

// What the phases did, reported at the end of a run (SearchResult).
struct SearchStats {
  std::uint64_t moves = 0;            // moves scored, any way
  std::uint64_t steps = 0;            // descent steps that changed the assembly
  std::uint64_t wide_steps = 0;       // descent steps over moves of any distance
  std::uint64_t epochs_undone = 0;    // epochs the subset rejected
  std::uint64_t predicted = 0;        // moves the table predicted
  std::uint64_t screened = 0;         // moves evaluated exactly on the table's rows
  std::uint64_t screened_better = 0;  // of those, real improvements
  std::uint64_t anneal_rounds = 0;
  std::uint64_t anneal_proposed = 0;
  std::uint64_t anneal_accepted = 0;
  std::uint64_t relax_rounds = 0;
  std::uint64_t relax_steps = 0;
  std::uint64_t kicks = 0;
  std::uint64_t flip_rounds = 0;
};

class Engine {
 public:
  Engine(const Puzzle& puzzle, const Dataset& data, const SearchOptions& options);
  SearchResult run(const std::vector<Assembly>& starts);

 private:
  // search_engine.cpp: the step policy.
  bool should_stop();
  bool exact_on_subset() const { return fine_.mse() <= tolerance_; }
  std::uint64_t block_rows() const {
    return fine_.block_rows() + screen_.block_rows() + walk_.block_rows() + relax_stats_.block_rows +
           (flip_eval_ ? flip_eval_->block_rows() : 0);
  }
  void commit(const std::vector<Block>& blocks, std::size_t from);
  void refresh_screen();
  std::vector<std::size_t> telling_rows(std::size_t count) const;
  void note_best();
  void progress(bool force);
  // A line at most every progress_seconds from a phase that runs long without moves (a relaxation
  // round, a flip chain: 15-60 s each at 96-128 blocks); `what` makes it only when it is due.
  void heartbeat(const std::function<std::string()>& what);
  bool descend();
  bool descent_step(std::size_t window, bool repairs);
  void take_on_screen(const std::vector<Block>& blocks, std::size_t from);
  bool end_epoch();
  Fit fit_all_rows(const Assembly& assembly);
  std::vector<Block> with_sure_pairs(std::vector<Block> blocks) const;
  // Whether block b holds the pair the score is sure of, while repairs keep such pairs
  // (SearchTuning::keep_sure), or a pair the caller gave (always kept); and how many blocks of an
  // assembly do.
  bool keeps_sure(const Block& b) const {
    return (keep_sure_ && sure_partner_[std::size_t(b.inp)] == b.out) ||
           given_partner_[std::size_t(b.inp)] == b.out;
  }
  std::size_t sure_held(const std::vector<Block>& blocks) const;
  void check_invariants() const;

  // search_table.cpp: the predicted candidates of one descent step, best first.
  std::vector<Candidate> predict_moves(const std::vector<Block>& blocks, std::size_t window, bool repairs);

  // search_screen.cpp: tries the candidates exactly and takes a step; false if none improves.
  bool screen_candidates(const std::vector<Block>& blocks, const std::vector<Candidate>& candidates,
                         std::size_t window);

  // search_relax.cpp: a soft order trained on the data, rounded; false when not worth a round.
  bool relax();
  int probe_prior(const std::vector<double>& ranks, const std::vector<Block>& blocks);

  // search_kick.cpp: the best's pairs blended with the score's, the descent to go on from them;
  // false when there is no such blend (or the score is not to be trusted).
  bool kick();

  // search_flip.cpp: near the answer, the pairs in the wrong relative order found by regression,
  // inverted, and again from there; false when not near the answer or already run from this best.
  bool flip();

  // search_anneal.cpp.
  void anneal();
  Move random_move(std::size_t n, bool repairs);
  Candidate random_change(std::size_t n, bool repairs);

  friend class MoveTable;

  const Puzzle& puzzle_;
  const Dataset& data_;
  SearchOptions options_;
  const SearchTuning& tuning_;
  std::unique_ptr<ThreadPool> own_pool_;  // when the options bring none
  ThreadPool& pool_;
  PackedPuzzle net_;
  Evaluator fine_;    // the subset rows: the search's objective
  Evaluator screen_;  // the first rows of the subset: prediction table and first checks
  Evaluator walk_;    // a small sample for annealing
  std::vector<Evaluator::Scratch> scratch_;
  Rng rng_;
  double tolerance_ = 0;
  double pred_variance_ = 0;  // of the subset rows: relaxation is for the far-off
  std::vector<std::vector<int>> rivals_;  // rivals_[inp piece]: its best-scoring out pieces
  std::vector<int> sure_partner_;         // sure_partner_[inp piece]: its sure out piece, or -1
  std::vector<int> given_partner_;        // given_partner_[inp piece]: its out piece if the caller gave
                                          // the pair (kept even once keep_sure_ is lifted), or -1
  bool keep_sure_ = false;                // repairs leave held sure pairs alone (keeps_sure)
  std::size_t sure_pairs_ = 0;            // how many pairs sure_partner_ holds
  bool sure_lifted_ = false;              // keep_sure_ was turned off by stale rounds
  std::vector<double> pair_logit_;        // per inp piece x out piece (by table index): the
                                          // pairing score over its spread, soft pairing's start
  std::vector<std::size_t> table_index_;  // per piece: its row (inp) or column (out) in the table
  std::vector<int> score_partner_;        // score_partner_[inp piece]: the pairing score's out
  std::vector<double> pair_margin_;       // pair_margin_[inp piece]: its score pair's lead over
                                          // every rival in its row and column (combined score)
  bool own_pairs_ = true;  // the chosen start pairs as the pairing score does, and no caller gave it
  bool pairing_too_big_ = false;  // soft pairing was skipped for memory (said once)
  bool permutation_too_big_ = false;  // a soft permutation was skipped for memory (said once)
  int prior_ = -1;  // the moved-weight prior: 1 used, 0 not, -1 not probed yet
  bool repairs_ = false;
  bool may_repair_ = false;  // repairs allowed at all (SearchOptions::repair_pairs, and a pair not given)
  bool order_phase_ = true;  // searching the order alone, before any repair (descend)
  std::vector<Block> best_;
  std::vector<std::vector<int>> tried_kicks_;  // every kick's pairing (per inp piece, its out)
  std::unique_ptr<Evaluator> flip_eval_;  // the flip rows (made on the first flip)
  std::vector<Block> flip_from_;           // the best the last flip chain started from
  std::size_t far_chains_ = 0;             // chains run from above flip_near (search_flip.cpp)
  std::size_t stale_rounds_ = 0;           // rounds in a row without a new best (search_engine.cpp)
  std::vector<Block> kick_base_;       // set for the round after a kick: relax from here, not best_
  double best_sse_ = std::numeric_limits<double>::infinity();
  bool confirmed_exact_ = false;
  bool unconfirmed_ = false;  // the subset looked exact but all rows did not
  // An epoch: steps taken on the table's rows alone, checked on all subset rows at its end.
  std::size_t epoch_steps_ = 0, epoch_from_ = 0;
  std::vector<Block> epoch_start_;
  double epoch_start_sse_ = 0;
  std::size_t confirm_steps_ = 0;  // after an epoch that made the subset worse: steps to confirm
  StopReason stopped_ = StopReason::stuck;
  SearchStats stats_;
  RelaxStats relax_stats_;
  std::vector<TracePoint> trace_;
  Clock::time_point start_ = Clock::now();
  double last_progress_ = 0;
};

// A caller's start's fit (`start_sse`) over the median of `shuffled_sse`, its blocks' fits in
// random orders on the same rows (search_engine.cpp); below tuning.start_informed the start
// knows something about the order. Infinity without shuffles or where they all fit exactly.
double start_fit_ratio(double start_sse, std::vector<double> shuffled_sse);
// Whether that start is informed: its fit_ratio below tuning.start_informed and its fit below
// tuning.start_beats_best x the best shuffle's (`best_shuffle_sse`).
bool start_is_informed(double fit_ratio, double start_sse, double best_shuffle_sse,
                       const SearchTuning& tuning);

// Whether a flip chain may start from a best whose MSE / var(pred) is `level` (search_flip.cpp):
// closed above tuning.flip_below or with flips off; `far` above tuning.flip_near, where only
// tuning.flip_far_chains chains run a search (`far_run` of them ran), and none below
// tuning.flip_far_above until `stale_rounds` rounds in a row without a new best reach
// tuning.flip_far_stale; else `near`.
enum class FlipGate { closed, far, near };
FlipGate flip_gate(double level, std::size_t far_run, std::size_t stale_rounds, const SearchTuning& tuning);

// The blocks ranked by how many others each runs before once the pairs `flips` (positions p < q)
// are inverted; ties keep the given order (search_flip.cpp).
std::vector<Block> order_with_flips(const std::vector<Block>& blocks,
                                    const std::vector<std::pair<std::size_t, std::size_t>>& flips);

// A chain of flip rounds (search_flip.cpp) from `start` on the rows of `eval` (whose current
// assembly it changes): each round regresses the error on every pair's predicted change of
// trading places and inverts the pairs picked, until none is, the fit is within `tolerance`,
// tuning.flip_rounds rounds ran or `stop` says so. The chain's best order (by MSE on those rows).
struct FlipChain {
  std::vector<Block> best;
  double best_mse = std::numeric_limits<double>::infinity();
  std::size_t rounds = 0, pairs = 0, span = 0, picked = 0;
};
FlipChain flip_chain(const PackedPuzzle& net, Evaluator& eval, ThreadPool& pool, const std::vector<Block>& start,
                     const SearchTuning& tuning, double tolerance, const std::function<bool()>& stop);

// `count` of the given rows, spread evenly over them.
std::vector<std::size_t> sample_rows(const std::vector<std::size_t>& rows, std::size_t count);

// Soft pairing (search_relax.cpp): some blocks' out layers are mixtures of out pieces. Block b
// with mix_of[b] = m >= 0 runs forward[m] (its transpose: transposed[m]) instead of its own out
// piece; soft_order_loss fills the gradient with respect to each mixture's weights (dim x hidden,
// row-major as the weights) and bias (dim).
struct SoftOuts {
  std::vector<int> mix_of;
  std::vector<PackedLinear> forward, transposed;
  std::vector<double> weight_grad, bias_grad;
};

// The soft network's MSE against pred on the `batch` rows (search_relax.cpp): slot k adds
// sum_b a_kb f_b(x_k) to the stream, a = weights (slots x blocks, row-major; zeros are skipped);
// weight_grad gets dL/da (zero where a is).
double soft_slots_loss(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                       const std::vector<Block>& blocks, const std::vector<double>& weights, ThreadPool& pool,
                       std::vector<double>& weight_grad, std::uint64_t& block_rows, SoftOuts* soft = nullptr);

// The same with blocks b at depths
// depth[b] in slots, Gaussians of width sigma[b]; grad gets its gradient with respect to the depths.
double soft_order_loss(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                       const std::vector<Block>& blocks, const std::vector<double>& depth,
                       const std::vector<double>& sigma, ThreadPool& pool, std::vector<double>& grad,
                       std::uint64_t& block_rows, SoftOuts* soft = nullptr);

// soft_order_loss's MSE alone (the forward pass: 2 of its 5 products), the same to the bit.
double soft_order_mse(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& batch,
                      const std::vector<Block>& blocks, const std::vector<double>& depth,
                      const std::vector<double>& sigma, ThreadPool& pool, std::uint64_t& block_rows);

// What a relaxation may re-pair: rows of the logits are `blocks` (indices into the relaxed
// blocks), columns the out pieces `outs` they share; logits (rows x columns) start the soft
// pairing, whose temperature falls geometrically over the steps. Adam's step size: rate.
struct SoftPairing {
  std::vector<std::size_t> blocks;
  std::vector<int> outs;
  std::vector<double> logits;
  double temperature_start = 1, temperature_end = 0.05, rate = 0.1;
  int iterations = 20;  // Sinkhorn normalisations per step
};

// The blocks in the order trained in the soft network of search_relax.cpp (depths, or a soft
// permutation when schedule.permutation), starting from `start_depth` (one per block, in slots),
// batches drawn from `rows` with `rng`; with a soft pairing, re-paired. Stops early (rounding what
// it has; the blocks as given if it took no step) once `stop` says so. With a `judge` (lower is
// better), the rounding is scored every schedule.check_every steps and at the end, the best
// returned.
std::vector<Block> relax_order(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& rows,
                               const std::vector<Block>& blocks, const std::vector<double>& start_depth,
                               const RelaxSchedule& schedule, Rng& rng, ThreadPool& pool, RelaxStats& stats,
                               const std::function<bool()>& stop = nullptr, const Puzzle* puzzle = nullptr,
                               const SoftPairing* pairing = nullptr,
                               const std::function<double(const std::vector<Block>&)>& judge = nullptr);

// A re-pairing kick's pairs (search_kick.cpp): blocks[k] keeps its inp and takes the out of
// blocks[column[k]], where column maximises the sum of score(k, o) plus `keep` for each block
// left with its own out; score(k, o) is the pairing score of blocks[k].inp with blocks[o].out.
// A block whose `fixed` entry is set keeps its out.
std::vector<Block> blend_pairs(const std::vector<Block>& blocks,
                               const std::function<double(std::size_t, std::size_t)>& score, double keep,
                               const std::vector<char>& fixed);

// A cycle of pairs (search_kick.cpp): block at[k] takes the out of block at[(k + 1) % length].
struct PairCycle {
  std::size_t at[3];
  std::size_t length;
  double gain;  // the sum of score changes
};
// The 2- and 3-cycles of the blocks' pairs that raise the summed score, best first (ties: in the
// order found); a block whose `fixed` entry is set is in none. Each block's partners are drawn
// from the 8 outs it gains most by.
std::vector<PairCycle> short_cycles(const std::vector<Block>& blocks,
                                    const std::function<double(std::size_t, std::size_t)>& score,
                                    const std::vector<char>& fixed);

}  // namespace humpty
