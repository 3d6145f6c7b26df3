#include "moves.hpp"

#include <algorithm>
#include <utility>

#include "assert.hpp"

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

#ifdef HUMPTY_ASSERTIONS
namespace {
// The layers an assembly uses, as one sorted list: a move rearranges them and never adds, drops
// or duplicates one.
std::vector<int> layers_of(const std::vector<Block>& blocks) {
  std::vector<int> layers;
  layers.reserve(2 * blocks.size());
  for (const Block& block : blocks) {
    layers.push_back(block.inp);
    layers.push_back(block.out);
  }
  std::sort(layers.begin(), layers.end());
  return layers;
}
}  // namespace
#endif

void apply_move(std::vector<Block>& blocks, const Move& move) {
  HUMPTY_ASSERT(last_changed(move) < blocks.size());
  // A three-way rotation of fewer than three places would duplicate one block's layers.
  HUMPTY_ASSERT((move.kind != MoveKind::rotate_out && move.kind != MoveKind::rotate_blocks) ||
                (move.a != move.b && move.b != move.c && move.a != move.c));
#ifdef HUMPTY_ASSERTIONS
  const std::vector<int> layers_before = layers_of(blocks);
#endif
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
#ifdef HUMPTY_ASSERTIONS
  HUMPTY_ASSERT(layers_of(blocks) == layers_before);
#endif
}

}  // namespace humpty
