// The move table of one descent step: every block evaluated at every position of its window
// ("probes"), turned into first-order predictions of every insertion, swap and pairing repair,
// and the best of them predicted again on more rows. See search_engine.hpp for the method.
#include <algorithm>
#include <array>
#include <numeric>

#include "search_engine.hpp"

namespace humpty {

class MoveTable {
 public:
  MoveTable(Engine& engine, const std::vector<Block>& blocks, std::size_t window, bool repairs)
      : e_(engine),
        blocks_(blocks),
        n_(blocks.size()),
        dp_(engine.net_.dim_padded),
        rows_(engine.screen_.rows()),
        chunks_(engine.screen_.chunks()),
        window_(window),
        repairs_(repairs) {}

  std::vector<Candidate> candidates();

 private:
  // A block evaluated at a position: probe_at_[j * (n + 1) + p] is the block now at j placed at
  // p; repair probes are mismatched blocks.
  struct Probe {
    Block block;
    std::size_t position;
  };
  struct RepairPair {
    std::size_t i, j;
    long x_at_i, y_at_j, y_at_i, x_at_j;  // X = (inp_i, out_j), Y = (inp_j, out_i)
    long x_before = -1, y_before = -1;    // in wide steps: X (Y) before positions 0..n
  };
  // One term of a predicted output change: sign * values[probe].
  struct Term {
    const std::vector<float>* values;
    long probe;
    double sign;
  };
  struct Terms {
    std::array<Term, 4> terms;
    std::size_t count;
  };

  void compute_errors();
  void add_window_probes();
  void add_repair_probes();
  void run_probes(const std::vector<std::size_t>& list, std::size_t first_chunk, std::size_t last_chunk);
  std::vector<std::size_t> probes_from(std::size_t first) const;
  double predict(const Term* terms, std::size_t count) const;
  long at(std::size_t j, std::size_t p) const { return probe_at_[j * (n_ + 1) + p]; }
  void add(std::initializer_list<Move> moves, std::initializer_list<Term> terms);
  void add_order_moves();
  void add_repairs();
  void shortlist();
  void add_relocated_repairs();

  Engine& e_;
  const std::vector<Block>& blocks_;
  const std::size_t n_, dp_, rows_, chunks_, window_;
  const bool repairs_;
  std::vector<double> error_;
  std::vector<Probe> probes_;
  std::vector<long> probe_at_;
  std::vector<RepairPair> repair_pairs_;
  std::vector<double> pair_estimate_;
  // For each probe and table row: U_p . f(S_p) (insert before p) and U_{p+1} . f(S_p) (replace p).
  std::vector<float> insert_value_, replace_value_;
  std::size_t predict_rows_ = 0;
  std::vector<Candidate> candidates_;
  std::vector<Terms> candidate_terms_;  // what each candidate's estimate is made of
};

std::vector<Candidate> Engine::predict_moves(const std::vector<Block>& blocks, std::size_t window, bool repairs) {
  MoveTable table(*this, blocks, window, repairs);
  std::vector<Candidate> candidates = table.candidates();
  stats_.moves += candidates.size();
  stats_.predicted += candidates.size();
  return candidates;
}

std::vector<Candidate> MoveTable::candidates() {
  e_.screen_.compute_sensitivities(chunks_);
  compute_errors();
  add_window_probes();
  add_repair_probes();
  // A local step predicts every move on the first chunk of the table, then the most promising
  // again on all of it: the first chunk sorts out most moves for a third of the work.
  const bool shortlisting = window_ < n_ && chunks_ > 1;
  predict_rows_ = shortlisting ? e_.screen_.chunk_rows(0) : rows_;
  run_probes(probes_from(0), 0, shortlisting ? 1 : chunks_);
  add_order_moves();
  add_repairs();
  if (shortlisting) shortlist();
  if (window_ >= n_ && !repair_pairs_.empty()) add_relocated_repairs();
  std::stable_sort(candidates_.begin(), candidates_.end(),
                   [](const Candidate& a, const Candidate& b) { return a.estimate < b.estimate; });
  return std::move(candidates_);
}

void MoveTable::compute_errors() {
  error_.assign(rows_, 0.0);
  for (std::size_t c = 0; c < chunks_; ++c) {
    for (std::size_t r = 0; r < e_.screen_.chunk_rows(c); ++r) {
      error_[c * kChunkRows + r] =
          double(output_of(e_.net_, e_.screen_.stream(n_, c) + r * dp_)) - e_.screen_.targets(c)[r];
    }
  }
}

void MoveTable::add_window_probes() {
  probe_at_.assign((n_ + 1) * n_, -1);
  for (std::size_t j = 0; j < n_; ++j) {
    std::size_t low = j > window_ ? j - window_ : 0, high = std::min(n_, j + window_ + 1);
    for (std::size_t p = low; p <= high; ++p) {
      if (p == j + 1) continue;  // no move puts the block there: it is where it is now
      probe_at_[j * (n_ + 1) + p] = long(probes_.size());
      probes_.push_back({blocks_[j], p});
    }
  }
}

void MoveTable::add_repair_probes() {
  if (!repairs_) return;
  // A local step repairs towards the outs the pairing score likes for each inp; a wide step
  // tries every pair, since in some networks the score says little (or the opposite).
  auto is_rival = [&](int inp, int out) {
    const auto& list = e_.rivals_[std::size_t(inp)];
    return window_ >= n_ || std::find(list.begin(), list.end(), out) != list.end();
  };
  for (std::size_t i = 0; i < n_; ++i) {
    for (std::size_t j = i + 1; j < n_; ++j) {
      if (!is_rival(blocks_[i].inp, blocks_[j].out) && !is_rival(blocks_[j].inp, blocks_[i].out)) continue;
      if (e_.keeps_sure(blocks_[i]) || e_.keeps_sure(blocks_[j])) continue;
      Block x{blocks_[i].inp, blocks_[j].out}, y{blocks_[j].inp, blocks_[i].out};
      const long k = long(probes_.size());
      repair_pairs_.push_back({i, j, k, k + 1, k + 2, k + 3});
      probes_.push_back({x, i});
      probes_.push_back({y, j});
      probes_.push_back({y, i});
      probes_.push_back({x, j});
    }
  }
}

// Evaluates probes list[...] on table chunks [first_chunk, last_chunk).
void MoveTable::run_probes(const std::vector<std::size_t>& list, std::size_t first_chunk, std::size_t last_chunk) {
  insert_value_.resize(probes_.size() * rows_);
  replace_value_.resize(probes_.size() * rows_);
  const Evaluator& screen = e_.screen_;
  const PackedPuzzle& net = e_.net_;
  e_.pool_.run(list.size(), [&](std::size_t task, int worker) {
    const std::size_t k = list[task];
    Evaluator::Scratch& s = e_.scratch_[std::size_t(worker)];
    s.stream.resize(kChunkRows * dp_);
    s.hidden.resize(kChunkRows * net.hidden_padded);
    const Probe& probe = probes_[k];
    for (std::size_t c = first_chunk; c < last_chunk; ++c) {
      const std::size_t count = screen.chunk_rows(c);
      const float* before = screen.stream(probe.position, c);
      std::copy_n(before, kChunkRows * dp_, s.stream.data());
      run_block(net.piece(probe.block.inp), net.piece(probe.block.out), s.stream.data(), count, s.hidden.data());
      const float* u_here = screen.sensitivity_at(probe.position, c);
      const float* u_next = probe.position < n_ ? screen.sensitivity_at(probe.position + 1, c) : nullptr;
      const std::size_t at = k * rows_ + c * kChunkRows;
      dot_differences(u_here, s.stream.data(), before, dp_, count, dp_, insert_value_.data() + at);
      if (u_next) {
        dot_differences(u_next, s.stream.data(), before, dp_, count, dp_, replace_value_.data() + at);
      } else {
        std::fill_n(replace_value_.data() + at, count, 0.0f);
      }
    }
  });
  std::size_t chunk_rows = 0;
  for (std::size_t c = first_chunk; c < last_chunk; ++c) chunk_rows += screen.chunk_rows(c);
  e_.fine_.count_block_rows(std::uint64_t(list.size()) * chunk_rows);
}

std::vector<std::size_t> MoveTable::probes_from(std::size_t first) const {
  std::vector<std::size_t> list(probes_.size() - first);
  std::iota(list.begin(), list.end(), first);
  return list;
}

// Predicted change of the table rows' squared error for an output change sum_k sign_k value_k.
double MoveTable::predict(const Term* terms, std::size_t count) const {
  double change = 0;
  for (std::size_t r = 0; r < predict_rows_; ++r) {
    double dy = 0;
    for (std::size_t k = 0; k < count; ++k) {
      HUMPTY_ASSERT(terms[k].probe >= 0);
      dy += terms[k].sign * double((*terms[k].values)[std::size_t(terms[k].probe) * rows_ + r]);
    }
    change += dy * (2 * error_[r] + dy);
  }
  return change;
}

void MoveTable::add(std::initializer_list<Move> moves, std::initializer_list<Term> terms) {
  Candidate c;
  c.count = 0;
  for (const Move& m : moves) c.moves[c.count++] = m;
  Terms made{{}, terms.size()};
  std::copy(terms.begin(), terms.end(), made.terms.begin());
  c.estimate = predict(made.terms.data(), made.count);
  candidate_terms_.push_back(made);
  candidates_.push_back(c);
}

void MoveTable::add_order_moves() {
  for (std::size_t j = 0; j < n_; ++j) {
    std::size_t low = j > window_ ? j - window_ : 0, high = std::min(n_ - 1, j + window_);
    for (std::size_t i = low; i <= high; ++i) {
      if (i == j) continue;
      // Insert the block at j before position i (i < j) or after position i (i > j).
      long target = at(j, i < j ? i : i + 1);
      add({Move{MoveKind::insert, j, i, 0}}, {{&insert_value_, target, 1}, {&replace_value_, at(j, j), -1}});
      if (i > j + 1) {
        add({Move{MoveKind::swap, j, i, 0}}, {{&replace_value_, at(i, j), 1},
                                              {&replace_value_, at(j, j), -1},
                                              {&replace_value_, at(j, i), 1},
                                              {&replace_value_, at(i, i), -1}});
      }
    }
  }
}

// Plain repairs: exchange the out (or inp) layers of two blocks where they are.
void MoveTable::add_repairs() {
  for (const RepairPair& pair : repair_pairs_) {
    const std::size_t i = pair.i, j = pair.j;
    const Term remove_i{&replace_value_, at(i, i), -1}, remove_j{&replace_value_, at(j, j), -1};
    add({Move{MoveKind::exchange_out, i, j, 0}},
        {{&replace_value_, pair.x_at_i, 1}, remove_i, {&replace_value_, pair.y_at_j, 1}, remove_j});
    const double out_estimate = candidates_.back().estimate;
    add({Move{MoveKind::exchange_inp, i, j, 0}},
        {{&replace_value_, pair.y_at_i, 1}, remove_i, {&replace_value_, pair.x_at_j, 1}, remove_j});
    const double inp_estimate = candidates_.back().estimate;
    pair_estimate_.push_back(std::min(out_estimate, inp_estimate));
  }
}

// The best moves by the first chunk, predicted again on every table row.
void MoveTable::shortlist() {
  std::vector<std::size_t> best(candidates_.size());
  std::iota(best.begin(), best.end(), std::size_t(0));
  std::stable_sort(best.begin(), best.end(), [&](std::size_t a, std::size_t b) {
    return candidates_[a].estimate < candidates_[b].estimate;
  });
  best.resize(std::min(best.size(), (e_.tuning_.shortlist_per_3_blocks * n_ + 2) / 3));
  std::vector<char> needed(probes_.size(), 0);
  for (std::size_t c : best) {
    for (std::size_t k = 0; k < candidate_terms_[c].count; ++k) {
      needed[std::size_t(candidate_terms_[c].terms[k].probe)] = 1;
    }
  }
  std::vector<std::size_t> list;
  for (std::size_t k = 0; k < probes_.size(); ++k) {
    if (needed[k]) list.push_back(k);
  }
  run_probes(list, 1, chunks_);
  predict_rows_ = rows_;
  std::vector<Candidate> shortlisted;
  std::vector<Terms> shortlisted_terms;
  for (std::size_t c : best) {
    shortlisted.push_back(candidates_[c]);
    shortlisted.back().estimate = predict(candidate_terms_[c].terms.data(), candidate_terms_[c].count);
    shortlisted_terms.push_back(candidate_terms_[c]);
  }
  candidates_ = std::move(shortlisted);
  candidate_terms_ = std::move(shortlisted_terms);
}

// In a wide step, the most promising repairs are also tried with one of the two new blocks moved
// to the place the prediction likes best: a repaired block is seldom already in the right place,
// as the search will have moved a wrong pair to where it does least harm. Only the best
// relocated_pairs_per_block * N pairs get the N + 1 probes per block this needs.
void MoveTable::add_relocated_repairs() {
  std::vector<std::size_t> chosen(repair_pairs_.size());
  std::iota(chosen.begin(), chosen.end(), std::size_t(0));
  std::stable_sort(chosen.begin(), chosen.end(),
                   [&](std::size_t a, std::size_t b) { return pair_estimate_[a] < pair_estimate_[b]; });
  chosen.resize(std::min(chosen.size(), e_.tuning_.relocated_pairs_per_block * n_));
  const std::size_t first_probe = probes_.size();
  for (std::size_t c : chosen) {
    RepairPair& pair = repair_pairs_[c];
    Block x{blocks_[pair.i].inp, blocks_[pair.j].out}, y{blocks_[pair.j].inp, blocks_[pair.i].out};
    pair.x_before = long(probes_.size());
    for (std::size_t p = 0; p <= n_; ++p) probes_.push_back({x, p});
    pair.y_before = long(probes_.size());
    for (std::size_t p = 0; p <= n_; ++p) probes_.push_back({y, p});
  }
  run_probes(probes_from(first_probe), 0, chunks_);
  for (std::size_t c : chosen) {
    const RepairPair& pair = repair_pairs_[c];
    const std::size_t i = pair.i, j = pair.j;
    const Term remove_i{&replace_value_, at(i, i), -1}, remove_j{&replace_value_, at(j, j), -1};
    const Term x_at_i{&replace_value_, pair.x_at_i, 1}, y_at_j{&replace_value_, pair.y_at_j, 1};
    const Term y_at_i{&replace_value_, pair.y_at_i, 1}, x_at_j{&replace_value_, pair.x_at_j, 1};
    const Move exchange_out{MoveKind::exchange_out, i, j, 0}, exchange_inp{MoveKind::exchange_inp, i, j, 0};
    // `stays` is the other new block where the repair left it; the moving one was left at
    // `moved_from` and goes before position p of the current order.
    auto relocate = [&](const Move& repair, long before, const Term& stays, std::size_t moved_from) {
      double best = std::numeric_limits<double>::infinity();
      std::size_t best_p = 0;
      for (std::size_t p = 0; p <= n_; ++p) {
        if (p == moved_from || p == moved_from + 1) continue;
        const Term terms[] = {{&insert_value_, before + long(p), 1}, stays, remove_i, remove_j};
        const double change = predict(terms, 4);
        if (change < best) {
          best = change;
          best_p = p;
        }
      }
      if (best < std::numeric_limits<double>::infinity()) {
        std::size_t target = best_p < moved_from ? best_p : best_p - 1;
        add({repair, Move{MoveKind::insert, moved_from, target, 0}},
            {{&insert_value_, before + long(best_p), 1}, stays, remove_i, remove_j});
      }
    };
    relocate(exchange_out, pair.x_before, y_at_j, i);  // X from i
    relocate(exchange_out, pair.y_before, x_at_i, j);  // Y from j
    relocate(exchange_inp, pair.x_before, y_at_i, j);  // X from j
    relocate(exchange_inp, pair.y_before, x_at_j, i);  // Y from i
  }
}

}  // namespace humpty
