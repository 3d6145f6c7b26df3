// The whole solve: pairing, then an order from the weights, from the data, or both.
#include "humpty/solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "assert.hpp"
#include "exhaustive.hpp"
#include "network.hpp"
#include "roles.hpp"
#include "solve_prefix.hpp"
#include "text.hpp"

namespace humpty {
namespace {

class Stopwatch {
 public:
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::string describe_fit(const Fit& fit) {
  std::string text = format_text("mse vs pred %.3e over %zu rows (%s %.1e: %s)", fit.mse_pred, fit.rows,
                                 tolerance_name(fit), fit.tolerance, fit.exact() ? "exact" : "NOT exact");
  if (fit.mse_true >= 0) text += format_text(", mse vs true %.6g", fit.mse_true);
  return text;
}

// At most `count` of the data's rows, evenly spaced, with every pred column (check_data compares
// them with the puzzle); no `true`.
Dataset spaced_rows(const Dataset& data, std::size_t count) {
  if (data.rows <= count) return data;
  Dataset subset;
  subset.source = data.source;
  subset.features = data.features;
  subset.feature_names = data.feature_names;
  subset.outputs = data.outputs;
  subset.rows = count;
  std::vector<std::size_t> rows(count);
  for (std::size_t i = 0; i < count; ++i) rows[i] = i * data.rows / count;
  for (std::size_t r : rows) {
    subset.x.insert(subset.x.end(), data.x.begin() + std::ptrdiff_t(r * data.features),
                    data.x.begin() + std::ptrdiff_t((r + 1) * data.features));
    subset.pred.push_back(data.pred[r]);
  }
  for (std::size_t j = 0; j + 1 < data.outputs; ++j) {
    for (std::size_t r : rows) subset.pred_rest.push_back(data.pred_rest[j * data.rows + r]);
  }
  return subset;
}

// Square blocks: the flip to try next at `assembly` (its inp and out trade places) among blocks
// not yet `tried`: the one whose flip fits `rows` best, the flipped block also moved to its best
// place (the search has put a block of wrong roles where it harms least, and there the flip alone
// made things worse: a PyTorch net of 16 square blocks, one backwards, no flip gained at the stuck
// order, MSE/var 0.14). Returns the assembly with that flip, or nothing when every block was tried.
// (Also tried: trades, block p's inp becoming block q's out and the other way, for pieces the
// guess put among the wrong role: on humpty's own square nets of 8-24 blocks, whose guessed pairs
// are mostly wrong, they never proved one.)
std::optional<Assembly> next_flip(const Puzzle& puzzle, const Assembly& assembly,
                                  const std::vector<bool>& tried, const Dataset& rows, ThreadPool& pool) {
  const std::size_t n = assembly.blocks.size();
  auto flipped = [&](std::size_t k, std::size_t j) {  // block k flipped and moved to position j
    Assembly candidate = assembly;
    Block block = candidate.blocks[k];
    std::swap(block.inp, block.out);
    candidate.blocks.erase(candidate.blocks.begin() + std::ptrdiff_t(k));
    candidate.blocks.insert(candidate.blocks.begin() + std::ptrdiff_t(j), block);
    return candidate;
  };
  std::optional<Assembly> best;
  double best_error = INFINITY;
  for (std::size_t k = 0; k < n; ++k) {
    if (tried[std::size_t(assembly.blocks[k].inp)]) continue;
    for (std::size_t j = 0; j < n; ++j) {
      Assembly candidate = flipped(k, j);
      auto fit = evaluate(puzzle, candidate, rows, pool);
      HUMPTY_ASSERT(fit.ok());  // the data and the assembly were checked by the caller
      if (fit.ok() && fit->mse_pred < best_error) {
        best_error = fit->mse_pred;
        best = std::move(candidate);
      }
    }
  }
  return best;
}

// How messages name piece k: by its file name where pieces are numbered by their names (or, in
// the puzzle left after a prefix, by the whole puzzle's number or name), else by its number.
std::string piece_label(const Puzzle& puzzle, int k) {
  return puzzle.files.empty() ? std::to_string(k) : puzzle.files[std::size_t(k)];
}

// The starts whose blocks give their pieces the puzzle's roles.
std::vector<Assembly> fitting_starts(const Puzzle& puzzle, const std::vector<Assembly>& starts) {
  std::vector<Assembly> fitting;
  for (const Assembly& start : starts) {
    if (std::all_of(start.blocks.begin(), start.blocks.end(),
                    [&](const Block& b) { return puzzle.roles[std::size_t(b.inp)] == Role::inp; }))
      fitting.push_back(start);
  }
  return fitting;
}

// Square blocks: the roles the weights guessed, but the given pairs' pieces in theirs. Where the
// guess had a pair's inp as an out (or its out as an inp), as many of the other pieces move the
// other way, the highest-numbered first (an arbitrary but fixed choice; the flips between searches
// then check them on the data).
Puzzle with_pair_roles(const Puzzle& puzzle, const std::vector<Block>& pairs) {
  if (!puzzle.square || pairs.empty()) return puzzle;
  std::vector<char> given(puzzle.pieces.size(), 0);
  Assembly assembly{pairs, puzzle.last_piece};
  for (const Block& block : pairs) given[std::size_t(block.inp)] = given[std::size_t(block.out)] = 1;
  std::vector<int> inps, outs;
  for (int k : puzzle.inp_pieces) {
    if (!given[std::size_t(k)]) inps.push_back(k);
  }
  for (int k : puzzle.out_pieces) {
    if (!given[std::size_t(k)]) outs.push_back(k);
  }
  std::sort(inps.begin(), inps.end());
  std::sort(outs.begin(), outs.end());
  while (inps.size() > outs.size()) {
    outs.push_back(inps.back());
    inps.pop_back();
  }
  while (outs.size() > inps.size()) {
    inps.push_back(outs.back());
    outs.pop_back();
  }
  for (std::size_t k = 0; k < inps.size(); ++k) assembly.blocks.push_back({inps[k], outs[k]});
  HUMPTY_ASSERT(check_assembly(puzzle, assembly));
  return with_roles(puzzle, assembly);
}

Result<SolveReport> solve_roles_known(const Puzzle& puzzle, const Dataset* data, const SolveOptions& options);

double seconds_since(std::chrono::steady_clock::time_point begun) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
}

// Square blocks with data, before the flips: the roles from the data where the puzzle is small
// enough. Returns the answer when one of these phases proves one (its report's first stage
// "roles", the time since `begun` not in its own stages), else nothing, with `best` the best of
// the trial searches. `puzzle` holds the weights' roles, `first` the caller's options on the pool.
std::optional<Result<SolveReport>> roles_from_data(const Puzzle& given, const Puzzle& puzzle,
                                                   const Dataset& data, const SolveOptions& options,
                                                   const SolveOptions& first,
                                                   std::chrono::steady_clock::time_point begun,
                                                   std::optional<SolveReport>& best) {
  const Logger& log = options.search.log;
  const SearchTuning& tuning = options.search.tuning;
  ThreadPool& pool = *first.search.pool;
  auto with_roles_time = [&](Result<SolveReport> report) {
    if (report) {
      double stages = 0;
      for (const auto& stage : report->seconds) stages += stage.second;
      report->seconds.insert(report->seconds.begin(),
                             {"roles", std::max(seconds_since(begun) - stages, 0.0)});
    }
    return report;
  };
  // Few enough assemblies, roles included, to try them all (exhaustive.hpp): one exact is the
  // answer, and its roles are no guess. Where the caller keeps a start's pairs (no repairs), only
  // its orders are tried; keeping the weights' pairs, none.
  const bool keep = !options.search.repair_pairs;
  if (!keep || !options.starts.empty()) {
    const Exhaustive every =
        try_every_assembly(given, data, keep ? options.starts[0].blocks : options.pairs, true, tuning, pool);
    if (every.ran && log) {
      log("roles",
          format_text("the blocks are square (d = h = %zu): every assembly tried with the roles free "
                      "(%.0f, each on %zu rows, the best %zu on all %zu) in %.3fs: %s",
                      given.dim, every.assemblies, every.screen_rows, every.judged, data.rows, every.seconds,
                      every.fit.exact() ? "one is exact, and its roles are the answer's"
                                        : "none is exact; the weights' guess is searched from"));
    }
    if (every.ran && every.fit.exact()) {
      SolveOptions known = first;
      known.starts = {every.best};
      return with_roles_time(solve_roles_known(with_roles(given, every.best), &data, known));
    }
  }
  // The splits the data point to, each searched with its pairs repaired (data_role_guesses), where
  // neither a caller's start nor given pairs bring roles.
  if (keep || !options.starts.empty() || !options.pairs.empty()) return std::nullopt;
  std::vector<Assembly> guesses = data_role_guesses(given, data, tuning.role_guesses, tuning.role_fit_rows,
                                                    tuning.role_split_limit, pool);
  if (guesses.empty()) return std::nullopt;
  // The weights' own split second (searched from its own starts; the flips below start from it):
  // on nets trained long enough it is right where the data's first may not be, and where the
  // weights say nothing the data's first is right more often (5 of 10 nets of 5-8 blocks), while
  // a search of the weights' wrong split can take long (21.7 s before the data's first split
  // proved 6 blocks of d = h = 256 in 0.17 s). The data's split with the weights' inps is not
  // searched again.
  auto weights_split = [&](const Assembly& guess) {
    return std::all_of(guess.blocks.begin(), guess.blocks.end(),
                       [&](const Block& b) { return puzzle.roles[std::size_t(b.inp)] == Role::inp; });
  };
  std::vector<std::pair<const Assembly*, std::size_t>> trials;  // (nullptr: the weights'), data rank
  for (std::size_t k = 0; k < guesses.size(); ++k) {
    if (k > 0 && weights_split(guesses[k])) continue;
    trials.emplace_back(&guesses[k], k + 1);
    if (k == 0 && !weights_split(guesses[0])) trials.emplace_back(nullptr, 0);
  }
  for (const auto& [guess, rank] : trials) {
    SolveOptions step = first;
    step.starts.clear();
    if (guess) step.starts = {*guess};
    step.search.stop_when_stuck = true;
    step.search.tuning.stuck_rounds = tuning.role_stuck_rounds;
    if (options.search.time_limit > 0) {
      const double spent = seconds_since(begun);
      if (spent >= options.search.time_limit) break;
      step.search.time_limit = options.search.time_limit - spent;
    }
    Result<SolveReport> report = solve_roles_known(guess ? with_roles(given, *guess) : puzzle, &data, step);
    if (!report) return report;
    const std::string fit = report->fit.exact() ? "exact" : describe_fit(report->fit);
    if (log) {
      log("roles", guess ? format_text("the data's split %zu of %zu (first-order regression): ", rank,
                                       guesses.size()) +
                               fit
                         : "the weights' split, pairs repaired: " + fit);
    }
    if (report->fit.exact()) return with_roles_time(std::move(report));
    if (!best || report->fit.mse_pred < best->fit.mse_pred) best = *report;
  }
  return std::nullopt;
}

}  // namespace

// Square blocks (Puzzle::square): the roles are the weights' guess, and the search keeps the
// roles it starts from, so the data check them, by a local search over flips between searches.
Result<SolveReport> solve(const Puzzle& given, const Dataset* data, const SolveOptions& options) {
  if (Status status = check_blocks(given, options.pairs, "given pair"); !status) return status;
  if (!options.prefix.empty()) return solve_after_prefix(given, data, options);
  if (!given.square) return solve_roles_known(given, data, options);
  if (data) {
    if (auto status = check_data(given, *data); !status) return status;
  }
  for (std::size_t k = 0; k < options.starts.size(); ++k) {
    if (Status status = check_assembly(given, options.starts[k]); !status) {
      return Status::failure("start " + std::to_string(k) + ": " + status.message());
    }
  }
  const Logger& log = options.search.log;
  const SearchTuning& tuning = options.search.tuning;
  std::unique_ptr<ThreadPool> own_pool;
  if (!options.search.pool) own_pool = std::make_unique<ThreadPool>(options.search.threads);
  SolveOptions first = options;
  first.search.pool = options.search.pool ? options.search.pool : own_pool.get();
  ThreadPool& pool = *first.search.pool;
  // A caller's start brings its own roles (given pairs must agree with them); starts that disagree
  // with the first one's are left out. Else given pairs bring theirs.
  Puzzle puzzle =
      !options.starts.empty() ? with_roles(given, options.starts[0]) : with_pair_roles(given, options.pairs);
  if (Status status = check_roles(puzzle, options.pairs, "given pair"); !status) {
    return Status::failure(status.message() + " (the roles of start 0)");
  }
  first.starts = fitting_starts(puzzle, options.starts);
  const auto begun = std::chrono::steady_clock::now();
  std::optional<SolveReport> best;  // the best of the roles' trial searches so far
  if (data && options.order != OrderMethod::chain) {
    if (std::optional<Result<SolveReport>> found =
            roles_from_data(given, puzzle, *data, options, first, begun, best))
      return *found;
  }
  const Dataset rows = data ? spaced_rows(*data, tuning.role_rows) : Dataset();
  if (log) {
    log("roles",
        format_text("the blocks are square (d = h = %zu): which piece is the inp is the weights' guess%s",
                    given.dim, data ? ", checked on the data" : ", unchecked without data"));
  }
  // A local search over the roles, each judged by a search that keeps the pairs and stops once
  // stuck for a few rounds: at the best so far, flip the block that fits best flipped (and moved),
  // search, keep the flip if that search ends better, else go back and try the next block; once
  // every block was tried without a gain, one search as the caller asked, from the best roles.
  // Rounds end when stuck, not after some seconds, so that the answer does not depend on the
  // machine. Each search from the usual starts (those of the caller's that fit the roles): from
  // the last best, a stuck order, it did not finish where its own starts were exact in 0.4 s.
  bool plain = !data;  // the caller's own search: the last
  Result<SolveReport> report = Status::failure("no search");
  const std::optional<SolveReport> best_of_data = best;  // the flips judge their own searches
  best.reset();
  Puzzle best_puzzle = puzzle;
  std::vector<bool> tried(given.pieces.size(), false);  // by the inp piece of the block flipped
  // A given pair's roles are known: its block is never flipped.
  auto untried = [&] {
    std::fill(tried.begin(), tried.end(), false);
    for (const Block& block : options.pairs) tried[std::size_t(block.inp)] = true;
  };
  untried();
  for (std::size_t round = 0;; ++round) {
    SolveOptions step = first;
    step.starts = fitting_starts(puzzle, options.starts);
    if (options.search.time_limit > 0) {
      const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
      if (round > 0 && spent >= options.search.time_limit) break;
      step.search.time_limit = std::max(options.search.time_limit - spent, 1e-3);
    }
    if (!plain) {
      // Pairs kept: the search's repairs would trade pieces between wrongly oriented blocks and
      // hide the flip that mends them (on a PyTorch net whose guess had 2 of 24 right pairs
      // backwards, the search with repairs ended with 21 right pairs and no flip to find).
      step.search.stop_when_stuck = true;
      step.search.tuning.stuck_rounds = tuning.role_stuck_rounds;
      step.search.repair_pairs = false;
    }
    report = solve_roles_known(puzzle, data, step);
    if (!report || plain || !report->searched || report->fit.exact() ||
        report->search.stopped != StopReason::stuck)
      break;
    if (!best || report->fit.mse_pred < best->fit.mse_pred) {
      if (best && log) log("roles", "the flip paid: kept");
      best = *report;
      best_puzzle = puzzle;
      untried();
    }
    std::optional<Assembly> flipped = next_flip(best_puzzle, best->assembly, tried, rows, pool);
    if (!flipped) {
      plain = true;  // every flip tried: the caller's search, from the best roles
      puzzle = best_puzzle;
      continue;
    }
    for (const Block& block : flipped->blocks) {
      if (best_puzzle.roles[std::size_t(block.inp)] != Role::inp) {
        tried[std::size_t(block.out)] = true;  // (marked by the piece that was the inp)
        if (log)
          log("roles", "pieces " + piece_label(given, block.out) + " and " + piece_label(given, block.inp) +
                           " trade roles; searching again");
      }
    }
    puzzle = with_roles(given, *flipped);
  }
  // A trial flip's search cut short by the time limit, or the last search, may end worse than the
  // best roles' search did: the better one is the answer.
  if (best && report && !report->fit.exact() && best->fit.mse_pred < report->fit.mse_pred) report = *best;
  if (best_of_data && report && !report->fit.exact() && best_of_data->fit.mse_pred < report->fit.mse_pred)
    report = *best_of_data;
  if (report) {
    // The stages are the answer's own solve's; the other rounds' searches are the roles' time.
    double stages = 0;
    for (const auto& stage : report->seconds) stages += stage.second;
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
    report->seconds.insert(report->seconds.begin(), {"roles", std::max(spent - stages, 0.0)});
  }
  return report;
}

namespace {

std::vector<Block> sorted_blocks(std::vector<Block> blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.inp < b.inp; });
  return blocks;
}

std::size_t shared_pairs(const std::vector<Block>& a, const std::vector<Block>& b) {
  std::size_t shared = 0;
  for (const Block& block : a) shared += std::find(b.begin(), b.end(), block) != b.end();
  return shared;
}

Result<SolveReport> solve_roles_known(const Puzzle& puzzle, const Dataset* data,
                                      const SolveOptions& options) {
  const Logger& log = options.search.log;
  auto say = [&](const char* stage, const std::string& message) {
    if (log) log(stage, message);
  };
  if (data) {
    if (auto status = check_data(puzzle, *data); !status) return status;
  }
  if (options.order == OrderMethod::search && !data) {
    return Status::failure(
        "the search order needs data: it orders blocks by how well the network reproduces `pred`");
  }
  SolveReport report;
  report.has_data = data != nullptr;
  Stopwatch watch;

  // One pool for every phase: the caller's, or one made here (threads spin between rounds, so
  // five pools would mean five sets of threads).
  std::unique_ptr<ThreadPool> own_pool;
  if (!options.search.pool) own_pool = std::make_unique<ThreadPool>(options.search.threads);
  ThreadPool& pool = options.search.pool ? *options.search.pool : *own_pool;
  if (Status status = check_roles(puzzle, options.pairs, "given pair"); !status) return status;
  report.pairing = pair_layers(puzzle, pool);
  if (!options.pairs.empty())
    report.pairing = with_given_pairs(puzzle, std::move(report.pairing), options.pairs);
  report.seconds.emplace_back("pairing", watch.lap());
  const Pairing& pairing = report.pairing;
  say("pairing",
      format_text(
          "%zu blocks; scores of chosen pairs %.3f..%.3f, best rejected %.3f (margin x%.2f); "
          "%zu of %zu pairs sure%s%s",
          pairing.blocks.size(), pairing.worst_chosen,
          *std::max_element(pairing.scores.begin(), pairing.scores.end()), pairing.best_rejected,
          pairing.best_rejected > 0 ? pairing.worst_chosen / pairing.best_rejected : INFINITY, pairing.sure,
          pairing.blocks.size(),
          pairing.given > 0 ? format_text(", %zu given (kept)", pairing.given).c_str() : "",
          pairing.bias_score_used
              ? format_text("; the biases' score joined (%.0f%% of the inp biases within a quarter of "
                            "PyTorch's initial bound: trained from zero)",
                            100 * pairing.bias_share)
                    .c_str()
              : ""));

  std::vector<Assembly> starts = options.starts;
  if (options.order != OrderMethod::search) {
    report.chain = order_by_chain(puzzle, pairing.blocks, pool);
    report.used_chain = true;
    report.seconds.emplace_back("chain", watch.lap());
    const ChainOrder& chain = report.chain;
    const double margin = chain.length > 0 ? 100 * (chain.runner_up - chain.length) / chain.length : 0.0;
    // Which way the path runs, and how clearly (ChainOrder::bias_trend).
    const std::string direction =
        chain.by_moved
            ? format_text(
                  "but it is no shorter than through the same biases shuffled coordinate by coordinate "
                  "(x%.3f): they hold no chain, so the order is the weights' moved shares', most moved "
                  "first (a guess; the biases' share along the last layer has rank trend %.3f along it)",
                  chain.path_vs_shuffled, chain.bias_trend)
        : chain.by_readout
            ? format_text(
                  "oriented so that the out-biases' share along the last layer rises (rank trend "
                  "%.3f%s; ||W_out|| trend %.3f)",
                  chain.bias_trend, chain.bias_trend < 0.3 ? ", a guess" : "", chain.norm_trend)
            : format_text(
                  "oriented so that ||W_out|| rises (rank trend %.3f; the biases' share along the last "
                  "layer does not vary)",
                  chain.norm_trend);
    if (chain.by_bias && chain.runner_up < chain.length) {
      say("order", format_text("out-bias path length %.6g, a local search's: a different path met is %.2f%% "
                               "shorter (%.6g), so neither is known to be the shortest; %s",
                               chain.length, -margin, chain.runner_up, direction.c_str()));
    } else if (chain.by_bias) {
      say("order",
          format_text("out-bias path length %.6g, shortest different path %.6g (+%.2f%%)%s; %s", chain.length,
                      chain.runner_up, margin, chain.exact ? ", proven shortest" : "", direction.c_str()));
    } else {
      say("order", chain.by_moved
                       ? "the out layers have no bias, so there is no bias path: ordered by the "
                         "weights' moved shares, most moved first, a guess"
                       : "the out layers have no bias, so there is no bias path: ordered by ||W_out|| "
                         "alone, a weak hint");
    }
    report.assembly = {chain.order, puzzle.last_piece};
  }
  if (data && options.order != OrderMethod::search) {
    auto fit = evaluate(puzzle, report.assembly, *data, pool);
    if (!fit) return fit.status();
    report.fit = *fit;
    report.seconds.emplace_back("verify", watch.lap());
    say("verify", "chain order: " + describe_fit(report.fit));
  }
  const bool need_search = options.order == OrderMethod::search ||
                           (options.order == OrderMethod::automatic && data && !report.fit.exact());
  if (need_search) {
    // Given starts also come reordered by the out-bias path of their own pairs (both ways): the
    // caller's pairs may be right while its order is not, and some networks' biases chain exactly.
    const std::size_t given = starts.size();
    auto both_ways = [&](std::vector<Block> order) {  // an order, then its reverse
      starts.push_back({order, puzzle.last_piece});
      std::reverse(order.begin(), order.end());
      starts.push_back({std::move(order), puzzle.last_piece});
    };
    for (std::size_t k = 0; k < given && k < 4; ++k)
      both_ways(order_by_chain(puzzle, starts[k].blocks, pool).order);
    if (starts.empty()) {
      both_ways(order_by_out_norm(puzzle, pairing.blocks));
      auto by_update = order_by_update_norm(puzzle, *data, pairing.blocks, pool);
      if (!by_update) return by_update.status();
      starts.push_back({std::move(*by_update), puzzle.last_piece});
      if (report.used_chain) both_ways(report.chain.order);
      // The data's own pairs (data_pairs), where the caller leaves the pairs to the search: their
      // orders join the starts, and the engine takes the start that fits best. (Also tried: a
      // search from them alone first, until stuck, then the usual one: as many of humpty's own
      // nets of 16-24 blocks proven, but trained ones of 24 blocks, whose weights the search
      // proves from in 0.9 s, took 2.6-3.5 s.)
      const SearchTuning& tuning = options.search.tuning;
      std::vector<Block> by_data;
      if (options.pairs.empty() && options.search.repair_pairs)
        by_data = data_pairs(puzzle, *data, tuning.data_pairs_rows, tuning.data_pairs_limit,
                             tuning.data_pairs_lead_share, pool);
      if (!by_data.empty() && by_data != sorted_blocks(pairing.blocks)) {
        report.data_pairs = by_data.size();
        both_ways(order_by_chain(puzzle, by_data, pool).order);
        both_ways(order_by_out_norm(puzzle, by_data));
        say("search",
            format_text("%zu pairs from the data's first-order regression, %zu of them the weights' "
                        "too: their orders join the starts",
                        by_data.size(), shared_pairs(by_data, pairing.blocks)));
      }
    }
    SearchOptions search = options.search;
    search.pairing = &pairing;
    search.starts_given = given;
    search.pool = &pool;
    auto searched = search_assembly(puzzle, *data, starts, search);
    if (!searched) return searched.status();
    report.search = std::move(*searched);
    report.searched = true;
    report.assembly = report.search.assembly;
    report.fit = report.search.fit;
    if (data->outputs > 1) {
      // The search fits output 0 alone; the proof checks the other outputs too.
      auto fit = evaluate(puzzle, report.assembly, *data, pool);
      if (!fit) return fit.status();
      report.fit = *fit;
    }
    report.seconds.emplace_back("search", watch.lap());
    say("search", format_text("%s after %.2fs: %llu moves scored, %.3g block-row evaluations",
                              stop_reason_name(report.search.stopped), report.search.seconds,
                              (unsigned long long)report.search.moves, double(report.search.block_rows)));
    say("verify", describe_fit(report.fit));
    if (!report.fit.exact()) {
      // Not proven: say how far the evidence goes, pair by pair.
      std::size_t agree = 0, agree_sure = 0;
      for (std::size_t i = 0; i < pairing.blocks.size(); ++i) {
        bool found = std::find(report.assembly.blocks.begin(), report.assembly.blocks.end(),
                               pairing.blocks[i]) != report.assembly.blocks.end();
        agree += found;
        agree_sure += found && pairing.is_sure[i];
      }
      say("search", format_text("not proven: the best assembly keeps %zu of the %zu pairs the pairing score "
                                "chose, %zu of the %zu it is sure of; nothing else is certain",
                                agree, pairing.blocks.size(), agree_sure, pairing.sure));
      if (pairing.given > 0) {
        say("search", format_text("the %zu given pairs were kept throughout: if one is wrong, no "
                                  "order can be proven",
                                  pairing.given));
      }
    }
  }
  report.answer = format_answer(report.assembly);
  report.sha256 = sha256_hex(report.answer);
  return report;
}

}  // namespace
}  // namespace humpty
