// humpty/solve.hpp - putting the pieces back together: pairing, ordering, search and proof.
//
// Each step returns not only its answer but how sure it is, because the fingerprints it relies
// on (the pairing score, the out-bias path and its direction) are strong in some networks and weak
// in others. Where there is data, the data decides; without data the result is a best guess
// with the evidence reported next to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "humpty/fit.hpp"
#include "humpty/model.hpp"
#include "humpty/result.hpp"
#include "humpty/thread_pool.hpp"

namespace humpty {

// Checks that the data fits the puzzle (one feature per stream value, one output). Errors say
// what does not match, e.g. "data has 47 feature columns, the network's input width is 48".
Status check_data(const Puzzle& puzzle, const Dataset& data);

// Runs the assembled network on every row (threads <= 0: all cores). Errors when the data does
// not fit the puzzle (check_data) or the assembly is not one of its assemblies (check_assembly).
Result<Fit> evaluate(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, int threads = 0);
Result<Fit> evaluate(const Puzzle& puzzle, const Assembly& assembly, const Dataset& data, ThreadPool& pool);

// ---- Pairing ------------------------------------------------------------------------------------

// Which out layer goes with which inp layer. For the right pair, P = W_out W_in looks like a
// negative multiple of the identity, so each pair is scored by |trace(P)| / ||P||_F. A second,
// per-unit fingerprint: training moves the weights of a hidden unit's inp row and out column
// together (an active unit's both sides leave their initial range; a dead one's stay), so over the
// units of a right pair the largest |w| of each row and of each column are correlated. A third:
// the trace's sign (-trace(P) / ||P||_F; right pairs damp). The assignment maximises their
// weighted sum, each standardised over the table (Hungarian algorithm). Measured on the hard
// suite (bench/hard.txt): the trace's size alone pairs 38 of 64 (b64-adam-40), 40 of 64
// (b64-adamw-t3-40) and 7 of 32 (b32-adam-40) right; with the units' score 51, 64 and 27; with
// the sign too 54, 64 and 30, and every net the trace score paired alone still all right.
// Sureness and the reported scores are the trace score's, whose chance level is known.
struct Pairing {
  std::vector<Block> blocks;   // one per inp piece, in ascending inp piece order
  std::vector<double> scores;  // the chosen pairs' scores
  std::vector<double> table;   // N x N: table[i * N + o] = score of inp_pieces[i] with out_pieces[o]
  std::vector<double> units;   // N x N: the units' score (a correlation over the hidden units)
  std::vector<double> biases;  // N x N: the biases' score, cos(b_in, W_out^T b_out) over the hidden
                               // units (pairing.cpp, bias_scores)
  double bias_share = 0;       // the inp biases' share within a quarter of PyTorch's initial bound
  bool bias_score_used = false;     // the biases look trained from zero (bias_share well above 0.25):
                                    // their score joins the combined one, weighted kBiasWeight
  std::vector<double> combined;     // N x N: the assignment's score: the trace's sign (-trace / ||P||),
                                    // its size (the table), the units' score and, with
                                    // bias_score_used, the biases' score, each standardised over the
                                    // table, weighted kSignedWeight, kSizeWeight, 1 and kBiasWeight
  std::vector<double> unit_scores;  // the chosen pairs' unit scores
  std::vector<double> leads;   // the chosen pairs' combined score minus the best other in their row
                               // and column: a confidence in z units (a Pairing made by hand may
                               // leave it empty: the search then takes no pair as confident)
  double worst_chosen = 0;     // the lowest score among the chosen pairs
  double best_rejected = 0;    // the highest score among all other pairs
  double noise = 0;            // the table's chance level: a wrong pair's typical score / 0.6745
  std::vector<bool> is_sure;   // is_sure[i]: blocks[i] scores at least kSureRatio times every
                               // other score in its row and column of the table, and at least
                               // kSureNoise times the noise level
  std::size_t sure = 0;        // how many are sure
  std::vector<bool> is_given;  // is_given[i]: blocks[i] is a pair the caller knows (with_given_pairs),
                               // not the score's choice; the search never breaks it
  std::size_t given = 0;       // how many are given
  static constexpr double kSureRatio = 1.5;
  static constexpr double kSureNoise = 4.5;
  // A trained block damps its stream: W_out W_in leans towards a negative multiple of the identity
  // (the published net's right pairs all do), a chance product has a trace of either sign. So the
  // assignment weighs the signed trace above its size. Measured on the hard suite's nets with their
  // default initialisation and on eight more Adam and AdamW nets generated for the check (32-64
  // blocks, 20-80 epochs): size 1 and sign 0 (before) paired 126 of 144 on the suite's three
  // imperfect Adam nets and 245 of 384 on the eight; size 0.5 and sign 1, 132 and 283; sign alone
  // 132 and 272; size and sign 1 each, 124 and 275. The nets paired perfectly stay so; the SGD
  // nets stay at chance (2-6 right) with every weighting.
  static constexpr double kSignedWeight = 1.0;
  static constexpr double kSizeWeight = 0.5;
  // With the biases' score at 1 or 2 (where used) every zero-bias net of the suites and of
  // PyTorch's is paired all right; at 0.5, PyTorch's SGD net 19 of 32 and the reseeded
  // b32-sgd-zero-40 28 of 32. 2, because where the weights carry nothing at all (test_pairing's
  // random weights) the other three scores' noise, standardised, outweighs it at 1 (13 of 24).
  static constexpr double kBiasWeight = 2.0;
};

// threads <= 0: one per core; the result does not depend on it. Or on a pool of the caller's.
Pairing pair_layers(const Puzzle& puzzle, int threads = 0);
Pairing pair_layers(const Puzzle& puzzle, ThreadPool& pool);

// The pairing with some pairs known (SolveOptions::pairs): those taken as they are, the others
// assigned anew by the combined score among the pieces left, and every chosen pair's scores,
// leads and sureness as pair_layers reports them. `given` must pass check_roles for `puzzle`.
Pairing with_given_pairs(const Puzzle& puzzle, Pairing pairing, const std::vector<Block>& given);

// ---- Ordering without data ----------------------------------------------------------------------

// Consecutive blocks have close out-layer biases, and the deeper a block the more of its bias lies
// along the last layer's weights. The order is the shortest path through the out-bias vectors,
// oriented so that that share rises (where every block's share is the same, so that ||W_out||_F
// rises: the published net's fingerprint). Out layers without a bias leave only the norm.
struct ChainOrder {
  std::vector<Block> order;  // blocks in execution order
  double length = 0;         // the path's length (sum of Euclidean distances)
  double runner_up = 0;      // length of the shortest different path the search met: >= length
                             // when exact; without exact, shorter when a local search met a
                             // shorter path than the one it kept (the path is then no shortest)
  bool exact = false;        // the path is proven shortest (exhaustive for small N)
  double norm_trend = 0;     // rank correlation of position and ||W_out||_F along the order, in
                             // [-1, 1]; without by_readout its sign (>= 0) chose the orientation
  double bias_trend = 0;     // the same for the share of each out-bias along the last layer's
                             // weights; with by_readout its sign (> 0) chose the orientation, its
                             // size says how clearly (below ~0.3 a guess)
  bool by_readout = false;   // the biases' alignment chose the direction (false: the norm did)
  bool by_bias = true;       // false: an out layer has no bias (nn.Linear(..., bias=False)), so
                             // there is no path; the order is the moved shares' (by_moved), else
                             // ||W_out||_F ascending
  double path_vs_shuffled = 0;  // the path's length over that through the same biases shuffled
                                // coordinate by coordinate (0: fewer than 8 blocks, not compared);
                                // near 1 the biases hold no chain
  bool by_moved = false;        // no chain (or no biases): the order is the moved-weight shares',
                                // most moved first (a guess), where half the blocks' shares differ;
                                // the trends are along it
};

// threads <= 0: one per core; the result does not depend on it.
ChainOrder order_by_chain(const Puzzle& puzzle, const std::vector<Block>& blocks, int threads = 0);
ChainOrder order_by_chain(const Puzzle& puzzle, const std::vector<Block>& blocks, ThreadPool& pool);

// The blocks sorted by ||W_out||_F ascending (ties by out piece index).
std::vector<Block> order_by_out_norm(const Puzzle& puzzle, std::vector<Block> blocks);

// The blocks sorted by the size of their update on the data's own rows, RMS of out(relu(inp(x)))
// over (up to) the first 512 rows, ascending. Errors as check_data, and when the blocks are not
// pairs of the puzzle's inp and out pieces. threads <= 0: one per core; the result does not
// depend on it.
Result<std::vector<Block>> order_by_update_norm(const Puzzle& puzzle, const Dataset& data, std::vector<Block> blocks,
                                                int threads = 0);
Result<std::vector<Block>> order_by_update_norm(const Puzzle& puzzle, const Dataset& data, std::vector<Block> blocks,
                                                ThreadPool& pool);

// ---- Ordering and pairing with data ------------------------------------------------------------

// Every tunable of the search in one place (src/search_*.cpp use them; docs in each field). The
// defaults are what the suites were measured with; change them to experiment, not to solve.
struct SearchTuning {
  // Rows.
  std::size_t default_rows = 1024;  // subset rows scored when SearchOptions::rows is 0
  std::size_t screen_chunks = 3;    // chunks of 48 rows the prediction table uses
  std::size_t anneal_chunks = 4;    // chunks of 48 rows annealing scores on
  // Descent (search_table.cpp, search_screen.cpp).
  bool order_first = true;                // repairs only when order moves (local and wide) find nothing
  std::size_t local_window = 4;           // positions a block may move in a local step
  std::size_t repair_rivals = 4;          // local repairs consider the best-scoring outs of each inp
  // Repairs (the descent's and annealing's) leave a pair the pairing score is sure of alone once
  // an assembly holds it, until keep_sure_rounds rounds in a row find no new best; not where every
  // pair is sure (then only repairs can answer data that disagree). Why: on b96-adamw-120 (the
  // score pairs all 96 right, 73 sure) the full search broke two sure pairs while the order was
  // still wrong, fitting the wrong order better, and sat at MSE/var 0.0029 from 56 s to 120 s;
  // keeping them it is exact in 62-67 s. No pair sure for the search (sure_lead) of the suites'
  // 20 nets is wrong.
  bool keep_sure = true;
  std::size_t keep_sure_rounds = 8;
  // Which of the pairing's sure pairs (Pairing::is_sure, by the trace score) the search takes as
  // sure (repairs a start to, keeps, leaves out of the soft pairing): those whose combined score
  // also leads by this (Pairing::leads). Why: on b128-adamw-120 the trace score is sure of one
  // wrong pair (trace 0.68, its units' score -0.10, lead 0.32) and the search forced it into a
  // start with every pair right; the right sure pairs of the suites' 20 nets lead by 1.40 or more.
  double sure_lead = 1.0;
  std::size_t shortlist_per_3_blocks = 10;  // moves predicted again on all table rows, per 3 blocks
  std::size_t relocated_pairs_per_block = 2;  // wide steps relocate the best 2N repaired pairs
  std::size_t screen_batch = 4;   // single moves checked exactly on the table's rows (local)
  std::size_t deep_screen = 1024; // the same in a wide step, at most
  std::size_t confirm_batch = 3;  // of the screened, checked on all subset rows (local)
  std::size_t deep_confirm = 16;  // the same in a wide step
  std::size_t epoch_steps = 2;    // steps taken on the table's rows before a check on the subset
  std::size_t epoch_pause = 3;    // steps confirmed one by one after an epoch made things worse
  // Annealing (search_anneal.cpp).
  std::size_t stuck_rounds = 16;        // rounds without a new best end a search without time limit
  std::size_t anneal_proposals = 4000;  // proposals per round for 48 blocks (scaled with N, not below)
  std::size_t anneal_batch = 4;         // proposals drawn together and scored in parallel
  double start_uphill_odds = 4;         // a typical uphill step is accepted 1 time in this many at first
  double cooling_span = 1e-4;           // end temperature / start temperature
  double near_partner = 0.7;            // probability that a move's second position is near the first
  std::size_t near_distance = 4;        // "near": within this many positions
  double relocate_after_repair = 0.5;   // probability that a random repair moves a new block too
  // Weights of the random move kinds: insert, swap, reverse, rotate blocks (order moves);
  // exchange out, exchange inp, rotate out (repairs).
  unsigned weight_insert = 35, weight_swap = 20, weight_reverse = 10, weight_rotate_blocks = 5;
  unsigned weight_exchange_out = 15, weight_exchange_inp = 10, weight_rotate_out = 5;
  // Relaxation (search_relax.cpp): when a descent is stuck, a soft order trained on the data
  // takes the place of annealing, for as long as the descent from it finds new bests, else in
  // every other round. The first round starts from no order at all, later rounds from the best
  // order with a narrower width. Widths in slots (positions), as fractions of N where so named.
  bool relax = true;
  double relax_above = 1e-3;          // only while the best MSE / var(pred) is above this
  double relax_gain = 0.1;            // a relaxation that gained this fraction of the error is repeated
  double relax_first_above = 0.3;     // a start above this MSE / var(pred) is relaxed at once...
  // ...unless it is one of the caller's (SearchOptions::starts_given) and fits better than
  // start_informed x the median of start_shuffles random orders of its own blocks: such a start
  // knows something, and the descent from it comes first. Why: the MSE does not say how near an
  // order is. On b64-sgd-120 (right pairs) the right order with Gaussian noise of width 2 on the
  // positions (~50 pairs of blocks inverted) fits at MSE/var 0.36, the search's stuck orders
  // (~600 inverted) at 0.33-0.42; relaxed at once it ended at 447 inverted in 20 s, descended
  // first it was exact in 1.5 s (b64-adamw-t3-40-s2: 699 and 48 inverted). Such starts fit at
  // 0.01-0.42 of the random orders' median (a few at 0.6-0.8), the suites' shuffled starts at
  // 0.45-2.8 (256 rows, Python): their runs do not change.
  double start_informed = 0.3;
  // ...and fits better than start_beats_best x the best of those random orders. Why: on
  // b64-adamw-t3-40 (t3 inputs) random orders' fits have a floor near 0.3 of their median (the
  // lowest of 700 at 0.28), so the median's test alone passed 5% of shuffled starts (with 8
  // shuffles), and from 2 of 40 shuffles its order-only solve descended for 18 s before relaxing
  // (exact at 33 s, against 11-15 s; both starts fit at 0.93-1.13 x the best shuffle). With 32
  // shuffles and both tests 0.2% of random orders pass there, on b64-sgd-120 0.07% (Python, the
  // screen's 144 rows). Starts with position noise on the right order pass as often as with the
  // median's test alone: all 48 on b64-adamw-t3-40 (width 1 to 4); on b64-sgd-120, 12 of 12 at
  // width 1, 7 of 12 at width 2, 1 of 12 at 3 and at 4 (the median's test alone: 12, 7, 1, 1).
  // A limit of 0.5 turned away b64-sgd-120 starts at 0.50 and 0.53 x the best of 8 that the
  // descent finished (one in 10.6 s).
  double start_beats_best = 0.8;
  std::size_t start_shuffles = 32;    // 8 before start_beats_best: the best of 8 is a loose floor
  std::size_t relax_steps = 400;      // Adam steps of the first round (later rounds: half)
  // Rows per step, cut into slices of 16 (a thread's task). 32 halves a round's cost: order-only
  // solves 1.4-1.9x faster on b64-adamw-t3-40 (4 seeds) and b64-adam-zero-120 (6), but b64-adam-40's
  // exact on 13 of 18 seeds against 17 of 18 (with 600 steps 9 of 12 against 10 of 12); 128: 0 of 8
  // small untrained full solves against 1 of 8 (MEASUREMENTS, 2026-12-04 and 2026-12-05).
  std::size_t relax_batch = 64;
  // Rows per step over the first relax_early_until of each round's steps (0: relax_batch), while
  // the widths are large: there most blocks sit on many slots, so those steps cost the most and a
  // noisier gradient might hurt least. Off: 32 then 64 made b64-adamw-t3-40's order-only solves
  // 1.4-1.9x faster (4 seeds) and b64-adam-40's exact on 21 of 24 other seeds against 20, but not
  // the suite's own (10 of 12 order only); 32 then 96 (relax_batch=96) kept the suite's totals,
  // 22 of 24 against 20, but lost b48-sgd-t3-40-s2's order (MEASUREMENTS, 2026-12-05, a sixth
  // session): within the lotteries' noise either way.
  std::size_t relax_batch_early = 0;
  double relax_early_until = 0;
  double relax_sigma_start = 0.125;   // first round's starting width, x N
  double relax_sigma_again = 3;       // later rounds' starting width
  double relax_sigma_end = 0.3;       // every round's final width
  double relax_free = 0.25;           // later rounds: each block's odds of starting wide
  double relax_rate = 0.3;            // Adam's step size, in slots
  // A soft permutation (slots x blocks, Sinkhorn-normalised) in place of the depths: 0 never,
  // 1 in the first round, 2 in every round, 3 in later rounds while the best MSE / var(pred) is
  // above relax_perm_above (else those refine the best order's depths). Such rounds start from
  // no order.
  std::size_t relax_perm = 3;
  double relax_perm_above = 0.1;
  // The moved-weight prior for rounds that start from no order: each block's place in the ranking
  // by the share of its weights outside PyTorch's initial range, most moved first
  // (search_relax.cpp), where the soft network at width relax_sigma_start x N on relax_prior_rows
  // rows fits better there than reversed and than relax_prior_gain times its fit from no order
  // (0: never); such rounds then start there at width relax_prior_width x N. That width: on
  // b64-adam-40 given its pairs, 0.18 made 16 of 16 seeds exact within 20 s (the suite's and
  // 1-15); 0.125, 14 of 16 (1-16; the suite's seed not); 0.06, 3 of 8.
  double relax_prior_gain = 1;
  std::size_t relax_prior_rows = 256;
  // ...and only where at least this fraction of the blocks' shares are distinct values. Why:
  // ties keep the given order, so where most blocks tie the "ranking" is the start's own order.
  // In an untrained net every share is 0; on untrained 40-, 48- and 64-block nets (d 24, h 48,
  // `generate --epochs 0`) that shuffled order happened to fit better than no order and than its
  // reverse, and the first round started there: the 40-block net's order-only solve then failed
  // in 20 s, and was exact in 1.4 s from no order. The trained nets of the suites have 87-100% of
  // their shares distinct.
  double relax_prior_distinct = 0.5;
  double relax_prior_width = 0.18;
  double relax_perm_cool = 0.02;      // its temperature falls from 1 to this over a round
  double relax_perm_rate = 0.1;       // Adam's step size on its logits
  std::size_t relax_perm_check = 10;  // its rounded order scored every this many steps, the best kept
  // Soft pairing in the same network, where some pairs are not sure (and repairs allowed): each
  // unsure inp's out layer a mixture of the unsure out pieces, Sinkhorn-normalised logits that
  // start at the pairing score (over its spread), in later rounds plus relax_pair_keep on the
  // best assembly's pairs (later rounds also start from its order).
  bool relax_pairs = true;
  double relax_pair_keep = 1;         // the best pairs' head start, in units of the score's spread
  double relax_pair_rate = 0.1;       // Adam's step size on the logits
  double relax_pair_cool = 0.05;      // the temperature falls from 1 to this over a round
  double relax_pair_megabytes = 1024; // no soft pairing (or permutation) where it would need more memory
  // A score pair whose assignment score (Pairing::combined, z units) leads every rival in its row
  // and column by this much stays out of the soft pairing (the descent may still repair it): with
  // the unit score, b64-adamw-t3-40's pairing is all right but not sure, and soft-pairing all 64
  // blocks made its first round 18 s instead of 10 (not exact in 60 s; with this, 17 s). With the
  // trace's sign in the score, 0.5 instead of 1 (34 pairs kept out instead of 29, all right)
  // made b64-adam-40's full solve exact within 60 s on 3 of 7 seeds (30-48 s) against 0 of 5;
  // on the SGD nets, whose scores are chance, such leads are mostly wrong pairs either way.
  double relax_pair_confident = 0.5;
  // Re-pairing kicks (search_kick.cpp): where the descent is stuck and the weight score has
  // signal (at least kick_confident_share of its pairs lead by relax_pair_confident), the
  // assignment on the score plus kick_keep (in units of the score's spread) for each of the best
  // assembly's own pairs gives new pairs (where that changes nothing, the 2- or 3-cycle of pairs
  // the score gains most by), and the descent goes on from them; a kick takes annealing's turn,
  // never to a pairing kicked to before, and the round after it relaxes from where it got.
  bool kick = true;
  double kick_keep = 1.6;
  double kick_confident_share = 1.0 / 3;
  // Flips (search_flip.cpp): where the descent is stuck below flip_below (MSE / var(pred)), once
  // per best and before any relaxation, the pairs of blocks in the wrong relative order are found
  // by regressing the error on every pair's predicted change (pairs up to a span apart, at most
  // flip_pair_share x flip_rows of them), those with a coefficient above flip_threshold inverted,
  // up to flip_rounds times; the chain's best order is the next start. flip_ridge: the ridge, a
  // fraction of the mean diagonal. flip_below 0.3 (was 1e-3) and the turn before the relaxation:
  // b48-sgd-t3-40-s2's order exact in 13.7-16 s (stuck at 0.19 before); b64-adam-40's full solve
  // 31 s (20 s before: a chain of 12 rounds far from its answer); flip_rounds 25 gave the same
  // on the first, 46 s on the second (search_flip.cpp has the measurements). Above flip_near a
  // chain is far from its answer: such chains run at most flip_far_chains times a search (later
  // ones, once per best, only below flip_near), as on b64-adam-40's full solve (seeds 24301, 1,
  // 2) chains far from the answer from every new best took 33, 25 and 50 s, one chain 28, 24 and
  // 40 s, none 21, 16 and 17 s; b48-sgd-t3-40-s2's order (exact in 14 s) needs its one. And a far
  // chain starts only at or above flip_far_above (its chain ran at 0.16): below it the descent
  // still moves. b64-adam-40's full solve (chain at 0.06, 8.5 s, no new best) at seeds 24301, 1
  // and 2: 25.6, 15.3 and 14.5 s (33, 24 and 40-50 s with it). A mixed case: b96-adamw-120's full
  // solve (120 s limit), whose chain at 0.013 did find a new best: 110.5 s (60.4 s with it); at
  // seed 1 neither exact (MSE/var 0.0068 with the gate, 0.011 without). Below flip_far_above
  // the far chain still runs once flip_far_stale rounds in a row found no new best: there the
  // descent has stopped moving too. Why: an untrained 48-block net's order-only solve (d 24,
  // h 48, bench/hard-untrained.txt) sat at MSE/var 0.031, 45 pairs of blocks inverted, from 5.7 s
  // to its 20 s limit (and to 60 s); its chain picked 21, 16, 16, 9, 8, 2 and 2 inversions and
  // reached the answer: exact in 14.0 s (stale 2) and 15.7 s (3). b64-adam-40's full solve never
  // went 2 rounds without a new best below 0.1 (seeds 24301, 1, 2: the same moves as without);
  // b96-adamw-120's chain did not run either (not exact in 120 s on a slow day; 110.5 s with the
  // gate alone the session before).
  bool flip = true;
  double flip_below = 0.3;
  double flip_near = 1e-3;
  double flip_far_above = 0.1;
  std::size_t flip_far_stale = 2;
  std::size_t flip_far_chains = 1;
  std::size_t flip_rows = 2048;
  double flip_pair_share = 0.5;
  double flip_threshold = 0.5;
  double flip_ridge = 1e-6;
  std::size_t flip_rounds = 12;
  // Square blocks (solve.cpp): the weights' guess of which piece of a pair is the inp is checked
  // by the data with a local search over the roles: flips, each judged by a search that keeps the
  // pairs and stops after role_stuck_rounds rounds without a new best, candidates ranked on
  // role_rows rows. A block of wrong roles computes another function altogether: on a PyTorch net
  // of 24 square blocks whose guess had one pair backwards the search ended at MSE/var 0.03 in
  // 60 s, not exact; flipped at its best after 30 s, exact 0.01 s later. Not before the search: at
  // the bias path's order the flips were wrong (2 right pairs flipped on a net whose guess was all
  // right, the one backwards pair not). Nor by a gain threshold at a stuck order: there a wrong
  // flip can fit best, and the next check no longer finds the right ones.
  std::size_t role_rows = 512;
  std::size_t role_stuck_rounds = 2;
  // Square blocks with data (roles.hpp, data_role_guesses): before the flips, the role_guesses
  // best splits into inps and outs by the first-order regression on role_fit_rows rows (the
  // weights' split second), each searched (pairs repaired, stopping after role_stuck_rounds rounds
  // without a new best) until one is exact; only where the splits number at most
  // role_split_limit (9 blocks: 48,620). On humpty's own square nets of 5-8 blocks (d = h = 8 and
  // 16, 0-40 epochs) the right split ranked 0, 0, 0, 22, 0, 4, 39, 429, 3 and 644; each wrong
  // split's search takes 0.2-0.6 s there. 32: the ranks up to 22 proven, ~10 s spent at most.
  std::size_t role_guesses = 32;
  std::size_t role_fit_rows = 2000;
  double role_split_limit = 5e4;
  // Pairs from the data (roles.hpp, data_pairs): blocks of d != h with data, the pairs left to the
  // search, up to data_pairs_limit blocks (0: never). The first-order regression on
  // data_pairs_rows rows pairs them, and where more than data_pairs_lead_share of its chosen pairs
  // lead their row and column, orders of those pairs join the search's starts. Why: the weights of
  // barely trained nets do not pair, and while the stream stays near the input the data do.
  // humpty's own nets (d = 24, h = 48; seeds 1-3; untrained and 40 epochs of SGD at 0.001; 20 s,
  // 2 threads): 16 blocks 6 of 6 proven in 0.11-1.6 s, against 5 of 6 in 1.6-11.1 s without (the
  // data's pairs used on four: 0.11-0.57 s, against 4.6, 7.5, 11.1 s and not proven); 20 blocks 4
  // of 6 against 3. At 24 blocks (ungated) 0 of 6 against 2: the regression has 0-16 of 24 right.
  // Without the lead test, trained nets of 12-20 blocks (Adam and AdamW, d = 16 and 24; 24 nets)
  // took 47 s in all against 30 s, a wrong data start chosen for its better fit; with it the pairs
  // are used on one of them (0.7 s to 1.3 s), and the others run the same moves (the regression
  // adds ~40 ms at 20 blocks).
  std::size_t data_pairs_rows = 4000;
  std::size_t data_pairs_limit = 20;
  double data_pairs_lead_share = 0.5;
  // Small puzzles (exhaustive.hpp): every assembly is tried when their count times the
  // multiply-adds of one block on exhaustive_rows rows (d and h padded to the kernels' panels)
  // stays within exhaustive_work; each is screened on those rows, the exhaustive_keep best judged
  // on every row. Square blocks try them first, roles free (solve.cpp); others after a search that
  // ends stuck and not exact (search_global.cpp). Why: humpty's own square nets (d = h = 4) of 3
  // and 4 blocks have 720 and 40,320 assemblies, and the roles' flips with the search proved 7 and
  // 1 of 24; trying them all proves every one. The budget is about half a second on 2 cores
  // (40,320 assemblies of d = h = 16 take 0.12-0.22 s at 1.3e9; 518,400 of d = 4, h = 8 1.35 s at
  // 1.7e10).
  std::size_t exhaustive_rows = 64;
  std::size_t exhaustive_keep = 16;
  double exhaustive_work = 6e9;
  // Reporting.
  double progress_seconds = 1.0;  // at most one progress line this often
};

// Why a search stopped.
enum class StopReason {
  exact,        // the subset and then every row reproduce pred at float rounding
  time_limit,   // SearchOptions::time_limit ran out
  interrupted,  // SearchOptions::stop was set
  stuck,        // rounds without a new best (only without a time limit, unless stop_when_stuck),
                // or every assembly tried
};
const char* stop_reason_name(StopReason reason);  // "exact", "time limit", "interrupted", "stuck"

struct SearchOptions {
  std::uint64_t seed = 0x5eed;              // the annealer's seed
  int threads = 0;                          // <= 0: all cores
  ThreadPool* pool = nullptr;               // when set, every phase runs on it (threads is then unused)
  std::size_t rows = 0;                     // rows used to score moves; 0: min(all, 1024)
  double time_limit = 0;                    // seconds; 0: none
  bool stop_when_stuck = false;             // stop after stuck_rounds rounds without a new best even
                                            // with a time limit (solve's rounds for square blocks)
  bool repair_pairs = true;                 // also try moves that change the pairing
  const Pairing* pairing = nullptr;         // the score pairing, if already computed (it guides repairs);
                                            // its given pairs (with_given_pairs) are never broken
  std::size_t starts_given = 0;             // the first this many starts are a caller's: the
                                            // relaxation keeps their pairs until the order alone
                                            // is stuck
  const std::atomic<bool>* stop = nullptr;  // set from elsewhere (e.g. on SIGINT) to stop early
  SearchTuning tuning;
  Logger log;
};

// One point of the search's progress: a new best assembly on the subset rows.
struct TracePoint {
  double seconds = 0;  // since the search started
  double mse = 0;      // the best assembly's MSE against pred on the subset rows
};

struct SearchResult {
  Assembly assembly;             // the best assembly found
  Fit fit;                       // on all rows
  StopReason stopped = StopReason::stuck;
  std::uint64_t moves = 0;       // moves scored
  std::uint64_t block_rows = 0;  // block evaluations x rows, the unit of work
  double seconds = 0;
  std::size_t subset_rows = 0;       // rows the moves were scored on
  std::uint64_t steps = 0;           // descent steps that changed the assembly
  std::uint64_t epochs_undone = 0;   // groups of steps on the table's rows the subset rejected
  std::uint64_t anneal_rounds = 0;   // annealing rounds
  std::uint64_t anneal_proposed = 0; // annealing moves proposed
  std::uint64_t anneal_accepted = 0; // annealing moves accepted
  std::uint64_t relax_rounds = 0;    // rounds of the soft order (relaxation)
  std::uint64_t relax_steps = 0;     // its Adam steps in all
  std::uint64_t kicks = 0;           // re-pairing kicks (the best's pairs blended with the score's)
  std::uint64_t flip_rounds = 0;     // rounds of the flip regression (search_flip.cpp)
  std::uint64_t every_assembly = 0;  // assemblies tried one by one, all there are (search_exhaustive.cpp)
  std::size_t sure_pairs = 0;        // pairs the search took as sure (SearchTuning::sure_lead)
  bool sure_lifted = false;          // whether keep_sure_rounds stale rounds let repairs break them
  std::uint64_t wide_steps = 0;      // descent steps that looked at moves of any distance
  std::uint64_t predicted = 0;       // moves whose effect the table predicted
  std::uint64_t screened = 0;        // moves evaluated exactly on the table's rows
  std::uint64_t screened_better = 0; // of those, the ones that were improvements (prediction hits)
  std::vector<TracePoint> trace;     // every new best, in time order (the first is the start)
};

// Searches pairings and orders for the assembly whose output matches `pred`, starting from the
// best of `starts`. Errors when the data does not fit (check_data), when there is no start, or
// when a start is not an assembly of this puzzle (check_assembly). Puzzles with few enough
// assemblies (SearchTuning::exhaustive_work) have every one tried first: one exact ends the search.
Result<SearchResult> search_assembly(const Puzzle& puzzle, const Dataset& data, const std::vector<Assembly>& starts,
                                     const SearchOptions& options);

// ---- The whole solve ----------------------------------------------------------------------------

enum class OrderMethod {
  automatic,  // chain order; with data, verified, and searched from when it is not exact
  chain,      // chain order only (data, if any, only verifies)
  search,     // order from the data alone, seeded by the norms; the bias path is not used
};

struct SolveOptions {
  OrderMethod order = OrderMethod::automatic;
  SearchOptions search;          // seed, threads, rows, time limit, stop flag, logger
  std::vector<Assembly> starts;  // when given, the search starts from these instead of its own
                                 // seeds (e.g. to continue from a previous best)
  // Blocks known to run first, in this order (e.g. from records of how the net was built). They
  // are run on the data once and taken out of the puzzle: the solve pairs and orders the rest on
  // the stream they leave, and the report is the whole assembly's. Starts must hold these blocks.
  std::vector<Block> prefix;
  // Pairs known, in any order (some or all; each an inp piece and its out piece): the pairing
  // takes them as they are (with_given_pairs), and the search orders them and pairs only the
  // rest, never breaking one. With a prefix, those among its blocks must be its own.
  std::vector<Block> pairs;
};

struct SolveReport {
  Assembly assembly;
  std::string answer;  // format_answer(assembly)
  std::string sha256;  // of the answer string
  Pairing pairing;
  ChainOrder chain;  // when the chain order was computed
  bool used_chain = false;
  bool searched = false;
  std::size_t data_pairs = 0;  // pairs from the data that joined the starts (SearchTuning::data_pairs_limit)
  std::size_t prefix_blocks = 0;  // the first blocks were given (SolveOptions::prefix), not found
  SearchResult search;  // when searched
  bool has_data = false;
  Fit fit;                                              // when there is data
  std::vector<std::pair<std::string, double>> seconds;  // time of each stage
};

// Solves a puzzle; `data` may be null. Errors only for data that does not fit the puzzle.
Result<SolveReport> solve(const Puzzle& puzzle, const Dataset* data, const SolveOptions& options);

}  // namespace humpty
