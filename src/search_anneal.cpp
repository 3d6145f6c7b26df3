// Annealing: when no move in the whole neighbourhood improves, a deterministic simulated
// annealing walk (the project's seeded generator, a geometric temperature schedule) on a small
// row sample, with random moves of every kind; descent resumes from the best point it found.
#include <algorithm>
#include <cmath>
#include <limits>

#include "search_engine.hpp"

namespace humpty {

Move Engine::random_move(std::size_t n, bool repairs) {
  HUMPTY_ASSERT(n >= 3);  // distinct partners need three positions (search_global.cpp takes fewer)
  // Kinds by weight; repairs only when the pairing is in question.
  const struct {
    MoveKind kind;
    unsigned weight;
    bool repair;
  } kinds[] = {{MoveKind::insert, tuning_.weight_insert, false},
               {MoveKind::swap, tuning_.weight_swap, false},
               {MoveKind::reverse, tuning_.weight_reverse, false},
               {MoveKind::rotate_blocks, tuning_.weight_rotate_blocks, false},
               {MoveKind::exchange_out, tuning_.weight_exchange_out, true},
               {MoveKind::exchange_inp, tuning_.weight_exchange_inp, true},
               {MoveKind::rotate_out, tuning_.weight_rotate_out, true}};
  unsigned total = 0;
  for (const auto& k : kinds) total += (!k.repair || repairs) ? k.weight : 0;
  unsigned pick = unsigned(rng_.below(total));
  MoveKind kind = MoveKind::insert;
  for (const auto& k : kinds) {
    unsigned w = (!k.repair || repairs) ? k.weight : 0;
    if (pick < w) {
      kind = k.kind;
      break;
    }
    pick -= w;
  }
  // A second position near the first most of the time: most useful moves are short.
  const std::size_t near = tuning_.near_distance;
  auto partner = [&](std::size_t a) {
    std::size_t b;
    do {
      if (rng_.uniform() < tuning_.near_partner) {
        long offset = long(rng_.below(2 * near + 1)) - long(near);
        long candidate = long(a) + offset;
        b = candidate < 0 ? 0 : std::min<std::size_t>(std::size_t(candidate), n - 1);
      } else {
        b = std::size_t(rng_.below(n));
      }
    } while (b == a);
    return b;
  };
  Move move;
  move.kind = kind;
  move.a = std::size_t(rng_.below(n));
  move.b = partner(move.a);
  if (repairs && (kind == MoveKind::exchange_out || kind == MoveKind::exchange_inp)) {
    // Repairs pair blocks that may sit anywhere: the partner is drawn from all positions.
    do {
      move.b = std::size_t(rng_.below(n));
    } while (move.b == move.a);
  }
  if (kind == MoveKind::rotate_out || kind == MoveKind::rotate_blocks) {
    do {
      move.c = partner(move.b);
    } while (move.c == move.a);
  }
  return move;
}

// A random move; some repairs are followed by moving one of the two new blocks anywhere, as a
// repaired block is seldom in the right place already.
Candidate Engine::random_change(std::size_t n, bool repairs) {
  Candidate change;
  change.moves[0] = random_move(n, repairs);
  const Move& first = change.moves[0];
  if ((first.kind == MoveKind::exchange_out || first.kind == MoveKind::exchange_inp) &&
      rng_.uniform() < tuning_.relocate_after_repair) {
    std::size_t from = rng_.uniform() < 0.5 ? first.a : first.b, to;
    do {
      to = std::size_t(rng_.below(n));
    } while (to == from);
    change.moves[1] = {MoveKind::insert, from, to, 0};
    change.count = 2;
  }
  return change;
}

void Engine::anneal() {
  const std::size_t n = fine_.positions();
  walk_.select_rows(data_, telling_rows(walk_.rows()));
  walk_.set(best_);
  double energy = walk_.sse();
  std::vector<Block> walk_best = best_;
  std::size_t held = sure_held(walk_.blocks());
  double walk_best_energy = energy;
  // Proposals are drawn in batches scored in parallel; the batch does not depend on the number of
  // threads, or the random draws (and so the walk) would.
  const std::size_t batch = std::max<std::size_t>(1, tuning_.anneal_batch);
  const std::size_t proposals =
      std::max<std::size_t>(tuning_.anneal_proposals, tuning_.anneal_proposals * n / 48);

  // The starting temperature: a typical uphill step from here is accepted one time in
  // start_uphill_odds.
  std::vector<double> uphill;
  {
    std::vector<std::vector<Block>> trial(4 * batch);
    std::vector<std::size_t> from(trial.size());
    for (std::size_t k = 0; k < trial.size(); ++k) {
      Candidate change = random_change(n, repairs_ && !order_phase_);
      trial[k] = walk_.blocks();
      change.apply(trial[k]);
      from[k] = change.first();
      if (sure_held(trial[k]) < held) trial[k] = walk_.blocks();  // a held sure pair broken: no move
    }
    std::vector<double> sse(trial.size());
    pool_.run(trial.size(), [&](std::size_t k, int worker) {
      sse[k] = walk_.score(trial[k], from[k], 0, walk_.chunks(), scratch_[std::size_t(worker)],
                           std::numeric_limits<double>::infinity());
    });
    for (double s : sse) {
      if (s > energy) uphill.push_back(s - energy);
    }
  }
  if (uphill.empty()) return;
  ++stats_.anneal_rounds;
  std::sort(uphill.begin(), uphill.end());
  const double start_temperature = uphill[uphill.size() / 2] / std::log(tuning_.start_uphill_odds);
  const double end_temperature = start_temperature * tuning_.cooling_span;
  const double cooling = std::pow(end_temperature / start_temperature, 1.0 / double(proposals));
  double temperature = start_temperature;

  std::vector<std::vector<Block>> trial(batch);
  std::vector<std::size_t> from(batch);
  std::vector<double> limit(batch), sse(batch);
  for (std::size_t done = 0; done < proposals;) {
    if (should_stop()) return;
    for (std::size_t k = 0; k < batch; ++k) {
      Candidate change = random_change(n, repairs_ && !order_phase_);
      trial[k] = walk_.blocks();
      change.apply(trial[k]);
      from[k] = change.first();
      // Metropolis: accept when the new energy is below energy - T ln u, u uniform in (0, 1].
      limit[k] = energy - temperature * std::log(1.0 - rng_.uniform());
      // A move that breaks a held sure pair is drawn (the walk stays the same for any keep_sure) but
      // never accepted.
      if (sure_held(trial[k]) < held) limit[k] = -std::numeric_limits<double>::infinity();
    }
    pool_.run(batch, [&](std::size_t k, int worker) {
      if (limit[k] == -std::numeric_limits<double>::infinity()) {
        sse[k] = std::numeric_limits<double>::infinity();
        return;
      }
      sse[k] = walk_.score(trial[k], from[k], 0, walk_.chunks(), scratch_[std::size_t(worker)], limit[k]);
    });
    stats_.moves += batch;
    for (std::size_t k = 0; k < batch; ++k) {
      ++done;
      ++stats_.anneal_proposed;
      temperature *= cooling;
      fine_.count_block_rows((n - from[k]) * walk_.rows());
      if (sse[k] < limit[k]) {
        ++stats_.anneal_accepted;
        walk_.set(trial[k], from[k]);
        held = sure_held(walk_.blocks());
        energy = walk_.sse();
        if (energy < walk_best_energy) {
          walk_best_energy = energy;
          walk_best = walk_.blocks();
        }
        break;  // the rest of the batch was proposed from the old state
      }
    }
    progress(false);
  }
  commit(walk_best, 0);
}

}  // namespace humpty
