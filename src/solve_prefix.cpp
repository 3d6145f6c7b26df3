// A solve with the first blocks of the order known (SolveOptions::prefix): the known blocks are run
// on the data once, and the rest is solved as a puzzle of its own whose input is the stream they
// leave.
//
// Why apply them rather than hand them to the search as part of a start: the search does not keep
// a right part it is given (2026-12-03: on b64-sgd-120 a right first half left in the puzzle was
// rearranged), and each block taken out shrinks what it must search, N! orders to (N - K)!. Why a
// prefix and not any known positions: only the blocks before every unknown one can be applied to the
// data; a known block after an unknown one would still have to be searched around.
#include "solve_prefix.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "assert.hpp"
#include "humpty/solve.hpp"
#include "network.hpp"
#include "text.hpp"

namespace humpty {
namespace {

double seconds_since(std::chrono::steady_clock::time_point then) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - then).count();
}

}  // namespace

Result<SolveReport> solve_after_prefix(const Puzzle& puzzle, const Dataset* data,
                                       const SolveOptions& options) {
  const auto begun = std::chrono::steady_clock::now();
  const std::vector<Block>& prefix = options.prefix;
  // (A prefix longer than the puzzle uses some piece twice.)
  if (Status status = check_blocks(puzzle, prefix, "prefix block"); !status) return status;
  if (data) {
    if (Status status = check_data(puzzle, *data); !status) return status;
  }
  const Logger& log = options.search.log;
  std::unique_ptr<ThreadPool> own_pool;
  if (!options.search.pool) own_pool = std::make_unique<ThreadPool>(options.search.threads);
  ThreadPool& pool = options.search.pool ? *options.search.pool : *own_pool;

  // The pieces left, numbered anew in their order (to_full maps back).
  std::vector<char> pinned(puzzle.pieces.size(), 0);
  for (const Block& block : prefix) pinned[std::size_t(block.inp)] = pinned[std::size_t(block.out)] = 1;
  std::vector<int> to_sub(puzzle.pieces.size(), -1), to_full;
  std::vector<Layer> layers;
  for (std::size_t k = 0; k < puzzle.pieces.size(); ++k) {
    if (pinned[k]) continue;
    to_sub[k] = int(to_full.size());
    to_full.push_back(int(k));
    layers.push_back(puzzle.pieces[k]);
  }
  auto to_full_blocks = [&](const std::vector<Block>& blocks) {
    std::vector<Block> full = prefix;
    for (const Block& block : blocks)
      full.push_back({to_full[std::size_t(block.inp)], to_full[std::size_t(block.out)]});
    return full;
  };
  // The caller's starts, without the prefix's blocks; a start that pairs a prefix piece otherwise
  // contradicts the prefix.
  std::vector<Assembly> starts;
  for (std::size_t s = 0; s < options.starts.size(); ++s) {
    const Assembly& start = options.starts[s];
    if (Status status = check_assembly(puzzle, start); !status) {
      return Status::failure("start " + std::to_string(s) + ": " + status.message());
    }
    Assembly rest;
    for (std::size_t b = 0; b < start.blocks.size(); ++b) {
      const Block& block = start.blocks[b];
      if (std::find(prefix.begin(), prefix.end(), block) != prefix.end()) continue;
      if (pinned[std::size_t(block.inp)] || pinned[std::size_t(block.out)]) {
        return Status::failure(format_text("start %zu: block %zu pairs pieces %d and %d, the prefix does not",
                                           s, b, block.inp, block.out));
      }
      rest.blocks.push_back({to_sub[std::size_t(block.inp)], to_sub[std::size_t(block.out)]});
    }
    rest.last = to_sub[std::size_t(start.last)];
    starts.push_back(std::move(rest));
  }

  // The given pairs left: one among the prefix's pieces must be a prefix block.
  std::vector<Block> pairs;
  for (std::size_t k = 0; k < options.pairs.size(); ++k) {
    const Block& block = options.pairs[k];
    if (std::find(prefix.begin(), prefix.end(), block) != prefix.end()) continue;
    if (pinned[std::size_t(block.inp)] || pinned[std::size_t(block.out)]) {
      return Status::failure(
          format_text("given pair %zu pairs pieces %d and %d, the prefix does not", k, block.inp, block.out));
    }
    pairs.push_back({to_sub[std::size_t(block.inp)], to_sub[std::size_t(block.out)]});
  }

  SolveReport report;
  report.has_data = data != nullptr;
  // The prefix's own time: the puzzle left and its stream, then the whole puzzle's pairing and
  // fit; not the solve in between, whose stages its report times.
  double setup = 0;
  auto solved_at = begun;
  if (prefix.size() == puzzle.blocks()) {
    if (log)
      log("prefix", format_text("the prefix holds all %zu blocks: nothing is left to solve", prefix.size()));
    report.assembly = {prefix, puzzle.last_piece};
  } else {
    // Square blocks: the pieces left get their roles from their own weights (make_puzzle), as the
    // whole puzzle's did; the prefix has fixed the roles of its own.
    auto rest = make_puzzle(std::move(layers), puzzle.source);
    if (!rest) return Status::failure("the pieces after the prefix: " + rest.message());
    Puzzle& sub = *rest;
    // Messages of the solve below name pieces by these labels (solve.cpp: the roles' flips).
    for (int k : to_full)
      sub.files.push_back(puzzle.files.empty() ? std::to_string(k) : puzzle.files[std::size_t(k)]);
    Dataset stream;
    if (data) {
      stream = *data;
      stream.x = network_streams(pack_puzzle(puzzle), prefix, *data, pool);
    }
    if (log) {
      const std::string given = prefix.size() == 1 ? "block" : std::to_string(prefix.size()) + " blocks";
      log("prefix",
          format_text("the first %s given%s; the solve pairs and orders the other %zu", given.c_str(),
                      data ? ", run on the data's rows and taken out of the puzzle" : "", sub.blocks()));
    }
    SolveOptions rest_options = options;
    rest_options.prefix.clear();
    rest_options.starts = std::move(starts);
    rest_options.pairs = std::move(pairs);
    rest_options.search.pool = &pool;
    if (options.search.time_limit > 0) {
      rest_options.search.time_limit = std::max(options.search.time_limit - seconds_since(begun), 1e-3);
    }
    setup = seconds_since(begun);
    auto solved = solve(sub, data ? &stream : nullptr, rest_options);
    solved_at = std::chrono::steady_clock::now();
    if (!solved) return solved.status();
    report = std::move(*solved);
    report.assembly = {to_full_blocks(report.assembly.blocks), to_full[std::size_t(report.assembly.last)]};
    if (report.used_chain) report.chain.order = to_full_blocks(report.chain.order);
    if (report.searched) report.search.assembly = report.assembly;
  }
  // The report describes the whole puzzle: its pairing table (the weights' evidence for every
  // piece, the prefix's too) and the fit of the whole assembly on the data as given.
  report.pairing = pair_layers(puzzle, pool);
  // (Square blocks: the whole puzzle's guessed roles may disagree with a given pair's; then the
  // table is the weights' alone.)
  if (!options.pairs.empty() && check_roles(puzzle, options.pairs, "given pair"))
    report.pairing = with_given_pairs(puzzle, std::move(report.pairing), options.pairs);
  if (data) {
    auto fit = evaluate(puzzle, report.assembly, *data, pool);
    if (!fit) return fit.status();
    // Bit for bit the stream the solve above ran on (network_streams), so the same outputs.
    HUMPTY_ASSERT(prefix.size() == puzzle.blocks() || fit->mse_pred == report.fit.mse_pred);
    report.fit = *fit;
  }
  report.prefix_blocks = prefix.size();
  report.answer = format_answer(report.assembly);
  report.sha256 = sha256_hex(report.answer);
  report.seconds.insert(report.seconds.begin(), {"prefix", setup + seconds_since(solved_at)});
  return report;
}

}  // namespace humpty
