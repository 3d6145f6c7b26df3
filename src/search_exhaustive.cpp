// The phase for puzzles small enough to try every assembly (exhaustive.hpp): a depth-first walk
// over the blocks position by position, each prefix's stream computed once and shared by every
// assembly that starts with it, each assembly screened on a few rows, the best few judged on all.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "assert.hpp"
#include "evaluator.hpp"
#include "exhaustive.hpp"
#include "network.hpp"

namespace humpty {
namespace {

// One screened assembly: where the walk met it (the task, then its count within the task, which
// orders ties the same way for any number of threads) and its squared error on the screen rows.
struct Screened {
  double sse = 0;
  std::size_t task = 0;
  std::uint64_t index = 0;
  std::vector<Block> blocks;
};

bool before(const Screened& a, const Screened& b) {
  if (a.sse != b.sse) return a.sse < b.sse;
  if (a.task != b.task) return a.task < b.task;
  return a.index < b.index;
}

// The pieces a walk may put into blocks besides the given ones: inps and outs in their roles, or
// with free roles one pool of pieces (`inps`), each of which may take either place.
struct Pieces {
  std::vector<Block> given;
  std::vector<int> inps, outs;
  bool free_roles = false;
};

// The depth-first walk from one first block (a task). Its streams are its own: tasks share only
// what they read.
class Walk {
 public:
  Walk(const PackedPuzzle& net, const Pieces& pieces, const std::vector<double>& target, const float* rows_in,
       std::size_t rows, std::size_t blocks, std::size_t piece_count, std::size_t task, std::size_t keep)
      : net_(net),
        pieces_(pieces),
        target_(target),
        rows_(rows),
        blocks_(blocks),
        task_(task),
        keep_(keep),
        streams_((blocks + 1) * rows * net.dim_padded),
        hidden_(rows * net.hidden_padded),
        given_used_(pieces.given.size(), 0),
        piece_used_(piece_count, 0),
        chosen_(blocks) {
    std::copy_n(rows_in, rows * net.dim_padded, streams_.data());
  }

  // The blocks that may take the next position, in the walk's fixed order: the unused given
  // blocks, then every unused (inp, out) of the other pieces. `given_index` gets the given
  // block's index, or -1.
  template <typename Visit>
  void choices(Visit visit) const {
    for (std::size_t g = 0; g < pieces_.given.size(); ++g) {
      if (!given_used_[g]) visit(pieces_.given[g], int(g));
    }
    const std::vector<int>& outs = pieces_.free_roles ? pieces_.inps : pieces_.outs;
    for (int i : pieces_.inps) {
      if (piece_used_[std::size_t(i)]) continue;
      for (int o : outs) {
        if (o != i && !piece_used_[std::size_t(o)]) visit(Block{i, o}, -1);
      }
    }
  }

  // Puts `block` at `level` (its stream computed from the one before), walks on, takes it back.
  void place(std::size_t level, const Block& block, int given_index) {
    mark(block, given_index, 1);
    chosen_[level] = block;
    float* stream = streams_.data() + (level + 1) * rows_ * net_.dim_padded;
    std::copy_n(streams_.data() + level * rows_ * net_.dim_padded, rows_ * net_.dim_padded, stream);
    run_block(net_.piece(block.inp), net_.piece(block.out), stream, rows_, hidden_.data());
    block_rows_ += rows_;
    if (level + 1 == blocks_) {
      screen(stream);
    } else {
      choices([&](const Block& next, int g) { place(level + 1, next, g); });
    }
    mark(block, given_index, 0);
  }

  std::vector<Screened>& best() { return best_; }
  std::uint64_t block_rows() const { return block_rows_; }

 private:
  void mark(const Block& block, int given_index, char used) {
    if (given_index >= 0) {
      given_used_[std::size_t(given_index)] = used;
    } else {
      piece_used_[std::size_t(block.inp)] = piece_used_[std::size_t(block.out)] = used;
    }
  }

  // A whole assembly: its squared error on the rows, kept among the `keep_` lowest.
  void screen(const float* stream) {
    double sse = 0;
    for (std::size_t r = 0; r < rows_; ++r) {
      const double error = double(output_of(net_, stream + r * net_.dim_padded)) - target_[r];
      sse += error * error;
    }
    if (!(sse <= INFINITY)) sse = INFINITY;  // NaN (a stream that overflowed) ranks last
    const std::uint64_t index = index_++;
    if (best_.size() == keep_ && !(sse < best_.back().sse)) return;
    Screened entry{sse, task_, index, chosen_};
    best_.insert(std::upper_bound(best_.begin(), best_.end(), entry, before), std::move(entry));
    if (best_.size() > keep_) best_.pop_back();
  }

  const PackedPuzzle& net_;
  const Pieces& pieces_;
  const std::vector<double>& target_;
  const std::size_t rows_, blocks_, task_, keep_;
  std::vector<float> streams_;  // (blocks + 1) x rows x dim_padded: the stream after each level
  std::vector<float> hidden_;
  std::vector<char> given_used_, piece_used_;
  std::vector<Block> chosen_;
  std::vector<Screened> best_;  // ascending by before()
  std::uint64_t index_ = 0, block_rows_ = 0;
};

double factorial(std::size_t n) {
  double f = 1;
  for (std::size_t k = 2; k <= n; ++k) f *= double(k);
  return f;
}

}  // namespace

double assembly_count(const Puzzle& puzzle, std::size_t given, bool free_roles) {
  const std::size_t n = puzzle.blocks(), m = n - std::min(given, n);
  const double pairings = free_roles ? factorial(2 * m) / factorial(m) : factorial(m);
  return factorial(n) * pairings;
}

Exhaustive try_every_assembly(const Puzzle& puzzle, const Dataset& data, const std::vector<Block>& given,
                              bool free_roles, const SearchTuning& tuning, ThreadPool& pool) {
  const auto start = std::chrono::steady_clock::now();
  Exhaustive result;
  free_roles = free_roles && puzzle.square;
  const std::size_t n = puzzle.blocks();
  result.assemblies = assembly_count(puzzle, given.size(), free_roles);
  const std::size_t rows = std::min(std::max<std::size_t>(tuning.exhaustive_rows, 1), data.rows);
  // The kernels work on dimensions padded to their panels: a block of d = 4, h = 8 costs what one
  // of 16 x 16 does.
  const double work = result.assemblies * double(rows) * 2.0 * double(pad_to_panel(puzzle.dim)) *
                      double(pad_to_panel(puzzle.hidden));
  if (n == 0 || work > tuning.exhaustive_work)
    return result;  // (data without rows: any assembly is the best)
  result.ran = true;
  result.screen_rows = rows;

  Pieces pieces;
  pieces.given = given;
  pieces.free_roles = free_roles;
  std::vector<char> in_given(puzzle.pieces.size(), 0);
  for (const Block& block : given) in_given[std::size_t(block.inp)] = in_given[std::size_t(block.out)] = 1;
  for (int k : puzzle.inp_pieces) {
    if (!in_given[std::size_t(k)]) pieces.inps.push_back(k);
  }
  for (int k : puzzle.out_pieces) {
    if (!in_given[std::size_t(k)]) (free_roles ? pieces.inps : pieces.outs).push_back(k);
  }
  std::sort(pieces.inps.begin(), pieces.inps.end());
  std::sort(pieces.outs.begin(), pieces.outs.end());
  HUMPTY_ASSERT(free_roles
                    ? pieces.inps.size() == 2 * (n - given.size())
                    : pieces.inps.size() == n - given.size() && pieces.outs.size() == pieces.inps.size());

  // Every piece packed as it is stored, so any square piece can be run as an inp or an out.
  const PackedPuzzle net = pack_puzzle(puzzle);
  const std::vector<std::size_t> spread = spread_rows(data.rows, rows);
  std::vector<float> rows_in(rows * net.dim_padded);
  load_rows(data, spread, net.dim_padded, rows_in.data());
  std::vector<double> target(rows);
  for (std::size_t r = 0; r < rows; ++r) target[r] = data.pred[spread[r]];

  // One task per first block; each walks on from there and keeps its own best.
  const std::size_t keep = std::max<std::size_t>(tuning.exhaustive_keep, 1);
  std::vector<std::pair<Block, int>> firsts;
  {
    Walk probe(net, pieces, target, rows_in.data(), rows, n, puzzle.pieces.size(), 0, keep);
    probe.choices([&](const Block& block, int g) { firsts.emplace_back(block, g); });
  }
  std::vector<std::vector<Screened>> kept(firsts.size());
  std::vector<std::uint64_t> work_done(firsts.size(), 0);
  pool.run(firsts.size(), [&](std::size_t task, int) {
    Walk walk(net, pieces, target, rows_in.data(), rows, n, puzzle.pieces.size(), task, keep);
    walk.place(0, firsts[task].first, firsts[task].second);
    kept[task] = std::move(walk.best());
    work_done[task] = walk.block_rows();
  });
  std::vector<Screened> best;
  for (std::size_t task = 0; task < firsts.size(); ++task) {
    best.insert(best.end(), kept[task].begin(), kept[task].end());
    result.block_rows += work_done[task];
  }
  std::sort(best.begin(), best.end(), before);
  if (best.size() > keep) best.resize(keep);

  // The best screened, judged on every row: the first exact one, else the lowest error.
  bool found = false;
  for (const Screened& candidate : best) {
    Assembly assembly{candidate.blocks, puzzle.last_piece};
    auto fit = free_roles ? evaluate(with_roles(puzzle, assembly), assembly, data, pool)
                          : evaluate(puzzle, assembly, data, pool);
    HUMPTY_ASSERT(fit.ok());  // the data were checked by the caller, and the walk uses every piece once
    if (!fit) continue;
    ++result.judged;
    result.block_rows += n * data.rows;
    const bool better = !found || (fit->exact() && !result.fit.exact()) ||
                        (fit->exact() == result.fit.exact() && fit->mse_pred < result.fit.mse_pred);
    if (better) {
      found = true;
      result.best = assembly;
      result.fit = *fit;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace humpty
