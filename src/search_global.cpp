// Whole-assembly phases of the search: the entry point, which checks its inputs, tries every
// assembly of puzzles small enough (search_exhaustive.cpp) and else runs the engine. This is the
// place for phases that look at the whole assembly at once (relaxations, portfolios of starts).
#include <algorithm>
#include <cmath>
#include <memory>

#include "assert.hpp"
#include "exhaustive.hpp"
#include "search_engine.hpp"
#include "text.hpp"

namespace humpty {
namespace {

// The pairs the caller gave (Pairing::is_given): every assembly holds them.
std::vector<Block> given_blocks(const Pairing* pairing) {
  std::vector<Block> given;
  if (!pairing || pairing->is_given.size() != pairing->blocks.size()) return given;
  for (std::size_t i = 0; i < pairing->blocks.size(); ++i) {
    if (pairing->is_given[i]) given.push_back(pairing->blocks[i]);
  }
  return given;
}

// A search's result from trying every assembly.
SearchResult exhaustive_result(const Exhaustive& every) {
  SearchResult result;
  result.assembly = every.best;
  result.fit = every.fit;
  result.stopped = every.fit.exact() ? StopReason::exact : StopReason::stuck;
  result.moves = std::uint64_t(every.assemblies);
  result.every_assembly = std::uint64_t(every.assemblies);
  result.block_rows = every.block_rows;
  result.subset_rows = every.screen_rows;
  result.seconds = every.seconds;
  result.trace.push_back({every.seconds, every.fit.mse_pred});
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
    for (const Block& block : starts[k].blocks) {  // the engine's tables follow the puzzle's roles
      if (puzzle.roles[std::size_t(block.inp)] != Role::inp) {
        return Status::failure("start " + std::to_string(k) + ": piece " + std::to_string(block.inp) +
                               " is an inp here but an out in the puzzle's roles (square blocks: search "
                               "with_roles(puzzle, start))");
      }
    }
  }
  // Below three blocks (too few for the engine's moves) every assembly is tried, the best kept.
  // Else the engine, and where it ends stuck and not exact with few enough assemblies to try them
  // all, they are (it solves the small nets that come with a shape to tell the roles apart in
  // milliseconds, where trying all 518,400 assemblies of 6 blocks takes a second).
  // A pool of its own only when the caller gave none and the walk runs, after the engine's is gone
  // (idle pools' threads spin between rounds).
  ThreadPool* pool = options.pool;
  std::unique_ptr<ThreadPool> own_pool;
  // Without repairs (SearchOptions::repair_pairs) the pairs are those of the starts, kept: then
  // only their orders are tried (below three blocks).
  auto every_assembly = [&](const SearchTuning& tuning, const std::vector<Block>& kept) {
    if (!pool) {
      own_pool = std::make_unique<ThreadPool>(options.threads);
      pool = own_pool.get();
    }
    Exhaustive every = try_every_assembly(
        puzzle, data, options.repair_pairs ? given_blocks(options.pairing) : kept, false, tuning, *pool);
    if (every.ran && options.log) {
      options.log("search",
                  format_text("every assembly tried (%.0f, each on %zu rows, the best %zu on all %zu) "
                              "in %.3fs: %s",
                              every.assemblies, every.screen_rows, every.judged, data.rows, every.seconds,
                              every.fit.exact() ? "one is exact" : "none is exact"));
    }
    return every;
  };
  if (puzzle.blocks() < 3) {
    SearchTuning tuning = options.tuning;
    tuning.exhaustive_work = INFINITY;  // at most 4 assemblies, whatever the budget
    return exhaustive_result(every_assembly(tuning, starts[0].blocks));
  }
  SearchResult result;
  {
    Engine engine(puzzle, data, options);
    result = engine.run(starts);
  }
  // Whatever the moves did, the answer uses every piece once, in the roles the puzzle gave.
  HUMPTY_ASSERT(check_assembly(puzzle, result.assembly));
  // Only where the search may repair pairs: with kept pairs (the square roles' trial searches
  // among them) only the orders would be tried, which the engine finds by itself at this size.
  if (result.stopped == StopReason::stuck && !result.fit.exact() && options.repair_pairs) {
    const Exhaustive every = every_assembly(options.tuning, result.assembly.blocks);
    if (every.ran && every.fit.exact()) {  // the engine's statistics kept, its end replaced
      result.assembly = every.best;
      result.fit = every.fit;
      result.stopped = StopReason::exact;
      result.every_assembly = std::uint64_t(every.assemblies);
      result.moves += result.every_assembly;
      result.block_rows += every.block_rows;
      result.seconds += every.seconds;
      result.trace.push_back({result.seconds, every.fit.mse_pred});
    }
  }
  return result;
}

}  // namespace humpty
