// moves.hpp - the changes the search makes to an assembly.
//
// Order moves keep the pairing; repair moves change which inp and out layers form a block, so a
// search that starts from a partly wrong pairing can still reach the right assembly.
#pragma once

#include <cstddef>
#include <vector>

#include "humpty/model.hpp"

namespace humpty {

enum class MoveKind {
  insert,         // the block at a moves to position b, the blocks between shift by one
  swap,           // the blocks at a and b trade places
  reverse,        // positions a..b (a < b) run in reverse order
  exchange_out,   // the blocks at a and b trade their out layers
  exchange_inp,   // the blocks at a and b trade their inp layers
  rotate_out,     // out layers move a -> b -> c -> a
  rotate_blocks,  // blocks move a -> b -> c -> a
};

struct Move {
  MoveKind kind = MoveKind::insert;
  std::size_t a = 0, b = 0, c = 0;
};

// The first and last positions whose block a move changes.
std::size_t first_changed(const Move& move);
std::size_t last_changed(const Move& move);

// Applies a move whose positions are all below blocks.size().
void apply_move(std::vector<Block>& blocks, const Move& move);

}  // namespace humpty
