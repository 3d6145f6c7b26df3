// evaluator.hpp - scoring assemblies on a subset of the data rows, incrementally.
//
// Why: a search scores thousands of assemblies that differ from the current one only from some
// position on. The residual stream before every position is cached for the current assembly, so
// a candidate that first differs at position p costs N - p blocks instead of N. Rows are held in
// chunks of kChunkRows; every sum over rows is a sum of per-chunk sums taken in chunk order, so
// scores do not depend on which thread computed them.
#pragma once

#include <cstddef>
#include <vector>

#include "buffer.hpp"
#include "humpty/model.hpp"
#include "network.hpp"
#include "parallel.hpp"

namespace humpty {

// The evaluator's stream buffers run to megabytes and every value is written before it is read:
// zeroing them first, on the calling thread, cost 1.4 ms per 10 MB, and the page faults then fell
// on that one thread instead of on the workers that fill the buffers.
using StreamBuffer = std::vector<float, UnsetAllocator<float>>;

class Evaluator {
 public:
  // Per-thread memory for scoring one candidate.
  struct Scratch {
    std::vector<float> stream, hidden;
  };

  // Scores on data rows `rows` (indices into data). The puzzle and data must outlive this.
  Evaluator(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& rows,
            ThreadPool& pool);

  // Scores on other rows from now on (as many chunks as before or fewer); call set() next.
  void select_rows(const Dataset& data, const std::vector<std::size_t>& rows);

  // The errors (output - pred) of the current assembly, one per subset row.
  std::vector<double> errors() const;
  // Its outputs, one per subset row.
  std::vector<float> outputs() const;
  const std::vector<std::size_t>& row_indices() const { return row_indices_; }

  std::size_t rows() const { return rows_; }
  std::size_t chunks() const { return chunks_; }
  std::size_t positions() const { return blocks_.size(); }
  const std::vector<Block>& blocks() const { return blocks_; }
  double sse() const { return sse_; }
  double mse() const { return sse_ / double(rows_); }
  const std::vector<double>& chunk_sse() const { return chunk_sse_; }

  // Makes `blocks` current. Streams before positions <= `from` are kept: the caller promises that
  // blocks[0..from) equal the current ones.
  void set(const std::vector<Block>& blocks, std::size_t from = 0);

  // Sum of squared errors over chunks [first_chunk, last_chunk) of a candidate whose blocks equal
  // the current ones before position `from`. Runs on the calling thread (callers parallelise over
  // candidates). Stops early, returning a partial sum above `give_up`, once the sum passes it.
  double score(const std::vector<Block>& candidate, std::size_t from, std::size_t first_chunk,
               std::size_t last_chunk, Scratch& scratch, double give_up) const;

  // The same over all chunks, split across the pool, keeping the candidate's streams: adopt()
  // then makes it current without computing them again (a confirmed move is usually taken).
  double try_candidate(const std::vector<Block>& candidate, std::size_t from);
  void adopt();

  // From now on set() keeps every block's hidden activations for these rows, so that
  // compute_sensitivities() need not run the inp layers again (a third of its work), at twice the
  // memory of the streams (h = 2d).
  void keep_hidden() { keep_hidden_ = true; }

  // The `from` promise of set/score/try_candidate: blocks[0..from) are the current ones.
  bool same_prefix(const std::vector<Block>& blocks, std::size_t from) const {
    if (from > blocks.size() || from > blocks_.size()) return false;
    for (std::size_t p = 0; p < from; ++p) {
      if (blocks[p] != blocks_[p]) return false;
    }
    return true;
  }

  // Computes, for the current assembly, the sensitivity of the output to the stream before every
  // position: U_p = dy/dS_p for each row (a backward pass; U_N is the last layer's weights).
  // Only chunks [0, chunk_count) are computed.
  void compute_sensitivities(std::size_t chunk_count);
  const float* sensitivity_at(std::size_t position, std::size_t chunk) const {
    return sensitivities_.data() + (position * chunks_ + chunk) * kChunkRows * net_.dim_padded;
  }
  const float* stream(std::size_t position, std::size_t chunk) const { return stream_at(position, chunk); }
  const double* targets(std::size_t chunk) const { return target_d_.data() + chunk * kChunkRows; }

  // Block evaluations times rows done so far, the unit of search work.
  std::uint64_t block_rows() const { return block_rows_; }
  void count_block_rows(std::uint64_t n) { block_rows_ += n; }

  std::size_t chunk_rows(std::size_t chunk) const {
    return chunk + 1 < chunks_ ? kChunkRows : rows_ - chunk * kChunkRows;
  }

 private:
  const float* stream_at(std::size_t position, std::size_t chunk) const {
    return streams_.data() + (position * chunks_ + chunk) * kChunkRows * net_.dim_padded;
  }
  float* hidden_at(std::size_t position, std::size_t chunk) {
    return hiddens_.data() + (position * chunks_ + chunk) * kChunkRows * net_.hidden_padded;
  }
  float* stream_at(std::size_t position, std::size_t chunk) {
    return streams_.data() + (position * chunks_ + chunk) * kChunkRows * net_.dim_padded;
  }
  double chunk_error(std::size_t chunk, const float* stream) const;
  double rows_error(std::size_t chunk, std::size_t first, std::size_t count, const float* stream) const;

  // set() and compute_sensitivities() work in slices of a chunk, so that the few chunks of a
  // small evaluator still spread over every thread.
  static constexpr std::size_t kSliceRows = 16;
  static constexpr std::size_t kSlicesPerChunk = kChunkRows / kSliceRows;

  const PackedPuzzle& net_;
  ThreadPool& pool_;
  std::size_t rows_ = 0, chunks_ = 0;
  std::vector<double> target_d_;  // pred of the subset rows
  std::vector<std::size_t> row_indices_;
  std::vector<Block> blocks_;
  StreamBuffer streams_;        // (positions + 1) x chunks x kChunkRows x dim_padded
  StreamBuffer sensitivities_;  // like streams_
  StreamBuffer trial_streams_;  // like streams_: the last tried candidate's, from trial_from_ on
  bool keep_hidden_ = false;
  bool hidden_valid_ = false;  // hiddens_ hold the current assembly's activations at every position
  StreamBuffer hiddens_;       // positions x chunks x kChunkRows x hidden_padded
  std::vector<Block> trial_blocks_;
  std::vector<double> trial_chunk_sse_;
  std::size_t trial_from_ = 0;
  std::vector<double> chunk_sse_;
  double sse_ = 0;
  std::vector<Scratch> scratch_;  // one per worker, for set()
  std::uint64_t block_rows_ = 0;
};

// `count` rows spread evenly over `total` (all of them when count >= total), in ascending order.
std::vector<std::size_t> spread_rows(std::size_t total, std::size_t count);

}  // namespace humpty
