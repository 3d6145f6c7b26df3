#include "moves.hpp"

#include <algorithm>
#include <utility>

namespace humpty {

std::size_t first_changed(const Move& move) {
  std::size_t first = std::min(move.a, move.b);
  if (move.kind == MoveKind::rotate_out || move.kind == MoveKind::rotate_blocks)
    first = std::min(first, move.c);
  return first;
}

std::size_t last_changed(const Move& move) {
  std::size_t last = std::max(move.a, move.b);
  if (move.kind == MoveKind::rotate_out || move.kind == MoveKind::rotate_blocks)
    last = std::max(last, move.c);
  return last;
}

void apply_move(std::vector<Block>& blocks, const Move& move) {
  auto at = [&](std::size_t k) { return blocks.begin() + std::ptrdiff_t(k); };
  switch (move.kind) {
    case MoveKind::insert:
      if (move.a < move.b) {
        std::rotate(at(move.a), at(move.a + 1), at(move.b + 1));
      } else if (move.b < move.a) {
        std::rotate(at(move.b), at(move.a), at(move.a + 1));
      }
      break;
    case MoveKind::swap:
      std::swap(blocks[move.a], blocks[move.b]);
      break;
    case MoveKind::reverse:
      std::reverse(at(std::min(move.a, move.b)), at(std::max(move.a, move.b) + 1));
      break;
    case MoveKind::exchange_out:
      std::swap(blocks[move.a].out, blocks[move.b].out);
      break;
    case MoveKind::exchange_inp:
      std::swap(blocks[move.a].inp, blocks[move.b].inp);
      break;
    case MoveKind::rotate_out: {
      int from_c = blocks[move.c].out;
      blocks[move.c].out = blocks[move.b].out;
      blocks[move.b].out = blocks[move.a].out;
      blocks[move.a].out = from_c;
      break;
    }
    case MoveKind::rotate_blocks: {
      Block from_c = blocks[move.c];
      blocks[move.c] = blocks[move.b];
      blocks[move.b] = blocks[move.a];
      blocks[move.a] = from_c;
      break;
    }
  }
}

}  // namespace humpty
