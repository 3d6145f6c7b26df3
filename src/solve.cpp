// The whole solve: pairing, then an order from the weights, from the data, or both.
#include "humpty/solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "network.hpp"
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
  std::string text = format_text("mse vs pred %.3e over %zu rows (rounding level %.1e: %s)", fit.mse_pred,
                                 fit.rows, fit.tolerance, fit.exact() ? "exact" : "NOT exact");
  if (fit.mse_true >= 0) text += format_text(", mse vs true %.6g", fit.mse_true);
  return text;
}

}  // namespace

Result<SolveReport> solve(const Puzzle& puzzle, const Dataset* data, const SolveOptions& options) {
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
  report.pairing = pair_layers(puzzle, pool);
  report.seconds.emplace_back("pairing", watch.lap());
  const Pairing& pairing = report.pairing;
  say("pairing",
      format_text("%zu blocks; scores of chosen pairs %.3f..%.3f, best rejected %.3f (margin x%.2f); "
                  "%zu of %zu pairs sure",
                  pairing.blocks.size(), pairing.worst_chosen,
                  *std::max_element(pairing.scores.begin(), pairing.scores.end()), pairing.best_rejected,
                  pairing.best_rejected > 0 ? pairing.worst_chosen / pairing.best_rejected : INFINITY,
                  pairing.sure, pairing.blocks.size()));

  std::vector<Assembly> starts = options.starts;
  if (options.order != OrderMethod::search) {
    report.chain = order_by_chain(puzzle, pairing.blocks, pool);
    report.used_chain = true;
    report.seconds.emplace_back("chain", watch.lap());
    const ChainOrder& chain = report.chain;
    if (chain.by_bias) {
      say("order", format_text("out-bias path length %.6g, shortest different path %.6g (+%.2f%%)%s; "
                               "||W_out|| rank trend along it %.3f",
                               chain.length, chain.runner_up,
                               chain.length > 0 ? 100 * (chain.runner_up - chain.length) / chain.length : 0.0,
                               chain.exact ? ", proven shortest" : "", chain.norm_trend));
    } else {
      say("order",
          "the out layers have no bias, so there is no bias path: ordered by ||W_out|| alone, a weak "
          "hint");
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
    for (std::size_t k = 0; k < given && k < 4; ++k) {
      std::vector<Block> chain = order_by_chain(puzzle, starts[k].blocks, pool).order;
      starts.push_back({chain, puzzle.last_piece});
      std::reverse(chain.begin(), chain.end());
      starts.push_back({chain, puzzle.last_piece});
    }
    if (starts.empty()) {
      std::vector<Block> by_norm = order_by_out_norm(puzzle, pairing.blocks);
      starts.push_back({by_norm, puzzle.last_piece});
      std::reverse(by_norm.begin(), by_norm.end());
      starts.push_back({by_norm, puzzle.last_piece});
      auto by_update = order_by_update_norm(puzzle, *data, pairing.blocks, pool);
      if (!by_update) return by_update.status();
      starts.push_back({std::move(*by_update), puzzle.last_piece});
      if (report.used_chain) {
        std::vector<Block> chain = report.chain.order;
        starts.push_back({chain, puzzle.last_piece});
        std::reverse(chain.begin(), chain.end());
        starts.push_back({chain, puzzle.last_piece});
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
    }
  }
  report.answer = format_answer(report.assembly);
  report.sha256 = sha256_hex(report.answer);
  return report;
}

}  // namespace humpty
