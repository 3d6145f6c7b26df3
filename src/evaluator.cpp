#include "evaluator.hpp"

#include "assert.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace humpty {

std::vector<std::size_t> spread_rows(std::size_t total, std::size_t count) {
  count = std::min(count, total);
  std::vector<std::size_t> rows(count);
  for (std::size_t i = 0; i < count; ++i) rows[i] = i * total / count;
  return rows;
}

Evaluator::Evaluator(const PackedPuzzle& net, const Dataset& data, const std::vector<std::size_t>& rows,
                     ThreadPool& pool)
    : net_(net), pool_(pool) {
  scratch_.resize(std::size_t(pool_.size()));
  select_rows(data, rows);
}

void Evaluator::select_rows(const Dataset& data, const std::vector<std::size_t>& rows) {
  row_indices_ = rows;
  rows_ = rows.size();
  chunks_ = (rows_ + kChunkRows - 1) / kChunkRows;
  target_d_.resize(rows_);
  for (std::size_t r = 0; r < rows_; ++r) target_d_[r] = data.pred[rows[r]];
  blocks_.clear();
  hidden_valid_ = false;
  streams_.assign(chunks_ * kChunkRows * net_.dim_padded, 0.0f);
  for (std::size_t c = 0; c < chunks_; ++c) {
    std::vector<std::size_t> part(rows.begin() + std::ptrdiff_t(c * kChunkRows),
                                  rows.begin() + std::ptrdiff_t(c * kChunkRows + chunk_rows(c)));
    load_rows(data, part, net_.dim_padded, stream_at(0, c));
  }
  chunk_sse_.assign(chunks_, 0.0);
  sse_ = 0;
}

std::vector<float> Evaluator::outputs() const {
  std::vector<float> output(rows_);
  for (std::size_t c = 0; c < chunks_; ++c) {
    const float* stream = stream_at(blocks_.size(), c);
    for (std::size_t r = 0; r < chunk_rows(c); ++r) {
      output[c * kChunkRows + r] = output_of(net_, stream + r * net_.dim_padded);
    }
  }
  return output;
}

std::vector<double> Evaluator::errors() const {
  const std::vector<float> output = outputs();
  std::vector<double> error(rows_);
  for (std::size_t r = 0; r < rows_; ++r) error[r] = double(output[r]) - target_d_[r];
  return error;
}

double Evaluator::rows_error(std::size_t chunk, std::size_t first, std::size_t count,
                             const float* stream) const {
  const double* target = target_d_.data() + chunk * kChunkRows + first;
  double sum = 0;
  for (std::size_t r = 0; r < count; ++r) {
    double error = double(output_of(net_, stream + r * net_.dim_padded)) - target[r];
    sum += error * error;
  }
  return sum;
}

double Evaluator::chunk_error(std::size_t chunk, const float* stream) const {
  return rows_error(chunk, 0, chunk_rows(chunk), stream);
}

void Evaluator::set(const std::vector<Block>& blocks, std::size_t from) {
  const std::size_t n = blocks.size(), dp = net_.dim_padded;
  HUMPTY_ASSERT(blocks_.size() != n || same_prefix(blocks, from));
  if (blocks_.size() != n) {
    from = 0;  // nothing cached yet
    streams_.resize((n + 1) * chunks_ * kChunkRows * dp);
  }
  blocks_ = blocks;
  // Hidden activations are kept when those before `from` are the current ones.
  const bool keep = keep_hidden_ && (hidden_valid_ || from == 0);
  const std::size_t hp = net_.hidden_padded;
  if (keep) hiddens_.resize(n * chunks_ * kChunkRows * hp);
  // A task is a whole chunk when there are chunks enough to keep every thread busy, else a slice
  // of one (the screen's few chunks).
  const std::size_t slices_per_task = chunks_ >= 4 * std::size_t(pool_.size()) ? kSlicesPerChunk : 1;
  pool_.run(chunks_ * kSlicesPerChunk / slices_per_task, [&](std::size_t task, int worker) {
    const std::size_t slice = task * slices_per_task;
    const std::size_t c = slice / kSlicesPerChunk, first = slice % kSlicesPerChunk * kSliceRows;
    if (first >= chunk_rows(c)) return;
    const std::size_t count = std::min(kSliceRows * slices_per_task, chunk_rows(c) - first);
    Scratch& s = scratch_[std::size_t(worker)];
    s.hidden.resize(kChunkRows * net_.hidden_padded);
    for (std::size_t p = from; p < n; ++p) {
      float* next = stream_at(p + 1, c) + first * dp;
      std::memcpy(next, stream_at(p, c) + first * dp, count * dp * sizeof(float));
      float* hidden = keep ? hidden_at(p, c) + first * hp : s.hidden.data();
      run_block(net_.piece(blocks_[p].inp), net_.piece(blocks_[p].out), next, count, hidden);
    }
    if (slices_per_task == kSlicesPerChunk) chunk_sse_[c] = chunk_error(c, stream_at(n, c));
  });
  // Each chunk's error summed as score() and try_candidate() sum it, whatever the tasks were: an
  // assembly set afresh and the same assembly adopted after a trial must have the same bits.
  if (slices_per_task != kSlicesPerChunk) {
    pool_.run(chunks_, [&](std::size_t c, int) { chunk_sse_[c] = chunk_error(c, stream_at(n, c)); });
  }
  hidden_valid_ = keep;
  block_rows_ += std::uint64_t(n - std::min(from, n)) * rows_;
  sse_ = 0;
  for (std::size_t c = 0; c < chunks_; ++c) sse_ += chunk_sse_[c];
}

double Evaluator::score(const std::vector<Block>& candidate, std::size_t from, std::size_t first_chunk,
                        std::size_t last_chunk, Scratch& scratch, double give_up) const {
  const std::size_t n = candidate.size();
  HUMPTY_ASSERT(n == blocks_.size() && same_prefix(candidate, from) && last_chunk <= chunks_);
  scratch.stream.resize(kChunkRows * net_.dim_padded);
  scratch.hidden.resize(kChunkRows * net_.hidden_padded);
  double sum = 0;
  for (std::size_t c = first_chunk; c < last_chunk && sum <= give_up; ++c) {
    const std::size_t count = chunk_rows(c);
    std::memcpy(scratch.stream.data(), stream_at(from, c), kChunkRows * net_.dim_padded * sizeof(float));
    run_blocks(net_, candidate.data() + from, n - from, scratch.stream.data(), count, scratch.hidden.data());
    sum += chunk_error(c, scratch.stream.data());
  }
  return sum;
}

}  // namespace humpty

namespace humpty {

double Evaluator::try_candidate(const std::vector<Block>& candidate, std::size_t from) {
  const std::size_t n = candidate.size(), floats = kChunkRows * net_.dim_padded;
  HUMPTY_ASSERT(n == blocks_.size() && same_prefix(candidate, from));
  trial_streams_.resize(streams_.size());
  trial_blocks_ = candidate;
  trial_from_ = from;
  trial_chunk_sse_.assign(chunks_, 0.0);
  pool_.run(chunks_, [&](std::size_t c, int worker) {
    Scratch& s = scratch_[std::size_t(worker)];
    s.hidden.resize(kChunkRows * net_.hidden_padded);
    const std::size_t count = chunk_rows(c);
    float* previous = trial_streams_.data() + (from * chunks_ + c) * floats;
    std::memcpy(previous, stream_at(from, c), floats * sizeof(float));
    for (std::size_t p = from; p < n; ++p) {
      float* next = trial_streams_.data() + ((p + 1) * chunks_ + c) * floats;
      std::memcpy(next, previous, floats * sizeof(float));
      run_block(net_.piece(candidate[p].inp), net_.piece(candidate[p].out), next, count, s.hidden.data());
      previous = next;
    }
    trial_chunk_sse_[c] = chunk_error(c, previous);
  });
  block_rows_ += std::uint64_t(n - from) * rows_;
  double sum = 0;
  for (double part : trial_chunk_sse_) sum += part;
  return sum;
}

void Evaluator::adopt() {
  const std::size_t n = trial_blocks_.size(), position = chunks_ * kChunkRows * net_.dim_padded;
  // The tried streams are those after trial_from_; the ones up to it are the current ones. Copy
  // whichever part is smaller into the other buffer (a search mostly changes early positions).
  const std::size_t kept = trial_from_ + 1, tried = n - trial_from_;
  if (kept < tried) {
    std::memcpy(trial_streams_.data(), streams_.data(), kept * position * sizeof(float));
    streams_.swap(trial_streams_);
  } else {
    std::memcpy(streams_.data() + kept * position, trial_streams_.data() + kept * position,
                tried * position * sizeof(float));
  }
  blocks_ = trial_blocks_;
  hidden_valid_ = false;
  chunk_sse_ = trial_chunk_sse_;
  sse_ = 0;
  for (double part : chunk_sse_) sse_ += part;
}

void Evaluator::compute_sensitivities(std::size_t chunk_count) {
  const std::size_t n = blocks_.size(), dp = net_.dim_padded, hp = net_.hidden_padded;
  chunk_count = std::min(chunk_count, chunks_);
  sensitivities_.resize(streams_.size());
  pool_.run(chunk_count * kSlicesPerChunk, [&](std::size_t slice, int worker) {
    const std::size_t c = slice / kSlicesPerChunk, first = slice % kSlicesPerChunk * kSliceRows;
    if (first >= chunk_rows(c)) return;
    const std::size_t count = std::min(kSliceRows, chunk_rows(c) - first);
    Scratch& s = scratch_[std::size_t(worker)];
    s.hidden.resize(2 * kChunkRows * hp);
    float* hidden = s.hidden.data();
    float* grad = s.hidden.data() + kChunkRows * hp;
    auto at = [&](std::size_t p) {
      return sensitivities_.data() + ((p * chunks_ + c) * kChunkRows + first) * dp;
    };
    float* last = at(n);
    for (std::size_t r = 0; r < count; ++r) {
      std::fill(last + r * dp, last + (r + 1) * dp, 0.0f);
      std::copy(net_.last_weight.begin(), net_.last_weight.end(), last + r * dp);
    }
    for (std::size_t p = n; p-- > 0;) {
      const Block& b = blocks_[p];
      // U_p = U_{p+1} + W_in^T (relu'(inp(S_p)) * (W_out^T U_{p+1})), row by row. relu' is 1
      // exactly where the block's ReLU outputs are not zero: they are the mask (kept, or computed).
      const float* active = hidden;
      if (hidden_valid_) {
        active = hidden_at(p, c) + first * hp;
      } else {
        linear_rows(net_.piece(b.inp), stream_at(p, c) + first * dp, dp, count, hidden, hp, Epilogue::relu);
      }
      linear_rows(net_.piece_transposed(b.out), at(p + 1), dp, count, grad, hp, Epilogue::store);
      std::memcpy(at(p), at(p + 1), count * dp * sizeof(float));
      masked_add_rows(net_.piece_transposed(b.inp), grad, hp, active, hp, count, at(p), dp);
    }
  });
  // A backward step costs three products to a forward step's two, or two with kept activations.
  std::size_t rows = 0;
  for (std::size_t c = 0; c < chunk_count; ++c) rows += chunk_rows(c);
  block_rows_ += std::uint64_t(n) * rows * (hidden_valid_ ? 2 : 3) / 2;
}

}  // namespace humpty
