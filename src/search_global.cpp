// Whole-assembly phases of the search: the entry point, which checks its inputs and picks the
// engine, and the exhaustive search of puzzles too small for the engine's moves. This is the
// place for phases that look at the whole assembly at once (relaxations, portfolios of starts).
#include <algorithm>

#include "assert.hpp"
#include "search_engine.hpp"

namespace humpty {
namespace {

// Whether the assembly holds every pair the caller gave (Pairing::is_given).
bool holds_given_pairs(const Assembly& assembly, const Pairing* pairing) {
  if (!pairing || pairing->is_given.size() != pairing->blocks.size()) return true;
  for (std::size_t i = 0; i < pairing->blocks.size(); ++i) {
    if (pairing->is_given[i] && std::find(assembly.blocks.begin(), assembly.blocks.end(),
                                          pairing->blocks[i]) == assembly.blocks.end())
      return false;
  }
  return true;
}

}  // namespace

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
      if (!holds_given_pairs(assembly, options.pairing)) continue;
      const Fit fit = options.pool ? *evaluate(puzzle, assembly, data, *options.pool)
                                   : *evaluate(puzzle, assembly, data, options.threads);
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
  result.stopped = result.fit.exact() ? StopReason::exact : StopReason::stuck;
  result.subset_rows = data.rows;
  result.seconds = seconds_since(start);
  return result;
}

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
  if (puzzle.blocks() < 3) return exhaustive_search(puzzle, data, options);
  Engine engine(puzzle, data, options);
  SearchResult result = engine.run(starts);
  // Whatever the moves did, the answer uses every piece once, in the roles the puzzle gave.
  HUMPTY_ASSERT(check_assembly(puzzle, result.assembly));
  return result;
}

}  // namespace humpty
