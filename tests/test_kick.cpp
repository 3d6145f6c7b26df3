// The re-pairing kick (src/search_kick.cpp): the blend of the best assembly's pairs with the
// pairing score's, and the short cycles of pairs. That no kick fires where the score is at chance
// is checked on the weak-fingerprint net's solve in test_search.cpp (one solve of it, not two).
#include <algorithm>

#include "catch.hpp"
#include "search_engine.hpp"
#include "support.hpp"

namespace {

// Six blocks, block k pairing inp 10 + k with out 20 + k; score[k][o]: inp of block k with the
// out of block o.
std::vector<humpty::Block> six_blocks() {
  std::vector<humpty::Block> blocks;
  for (int k = 0; k < 6; ++k) blocks.push_back({10 + k, 20 + k});
  return blocks;
}

// Blocks 0-2 hold a cycle the score objects to strongly (each scores -1 with its own out, 5 with
// the next block's); blocks 3 and 4 hold pairs the score mildly doubts (0.5 each for swapping
// them, 0 for keeping); block 5's row prefers block 0's out above all.
double score(std::size_t k, std::size_t o) {
  if (k < 3) return o == k ? -1.0 : (o == (k + 1) % 3 ? 5.0 : -2.0);
  if (k == 3 || k == 4) return o == k ? 0.0 : (o == 7 - k ? 0.5 : -2.0);
  return o == 0 ? 100.0 : (o == 5 ? 0.0 : -2.0);
}

std::vector<int> outs(const std::vector<humpty::Block>& blocks) {
  std::vector<int> v;
  for (const auto& b : blocks) v.push_back(b.out - 20);
  return v;
}

}  // namespace

TEST_CASE("a kick's blend takes the score's pairs where it objects strongly and keeps the rest", "[kick]") {
  const std::vector<humpty::Block> blocks = six_blocks();
  std::vector<char> fixed(6, 0);
  fixed[5] = 1;  // a sure pair: never changed, and its out is not on offer
  // keep 1.25: the cycle's gain (15 + 3 = 18) beats keeping it (3 x 1.25); the swap of 3 and 4
  // gains 1, less than keeping both (2.5).
  auto blended = humpty::blend_pairs(blocks, score, 1.25, fixed);
  CHECK(outs(blended) == std::vector<int>{1, 2, 0, 3, 4, 5});
  for (std::size_t k = 0; k < 6; ++k) CHECK(blended[k].inp == blocks[k].inp);  // the order stays
  // No bonus: the score's own assignment among the free blocks.
  CHECK(outs(humpty::blend_pairs(blocks, score, 0.0, fixed)) == std::vector<int>{1, 2, 0, 4, 3, 5});
  // A bonus larger than any gain per pair: nothing changes.
  CHECK(outs(humpty::blend_pairs(blocks, score, 7.0, fixed)) == std::vector<int>{0, 1, 2, 3, 4, 5});
  // Without the fixed flag block 5 takes block 0's out.
  CHECK(outs(humpty::blend_pairs(blocks, score, 1.25, std::vector<char>(6, 0)))[5] == 0);
}

TEST_CASE(
    "short cycles: the 2- and 3-cycles of pairs that raise the score, best first, none through a fixed block",
    "[kick]") {
  const std::vector<humpty::Block> blocks = six_blocks();
  std::vector<char> fixed(6, 0);
  fixed[5] = 1;
  const auto cycles = humpty::short_cycles(blocks, score, fixed);
  REQUIRE(!cycles.empty());
  // The best: blocks 0 -> 1 -> 2 -> 0 each taking the next one's out, gain 3 x (5 - (-1)).
  CHECK(cycles[0].length == 3);
  CHECK(cycles[0].at[0] == 0);
  CHECK(cycles[0].at[1] == 1);
  CHECK(cycles[0].at[2] == 2);
  CHECK(cycles[0].gain == Approx(18.0));
  bool swap34 = false;
  for (std::size_t k = 0; k < cycles.size(); ++k) {
    CHECK(cycles[k].gain > 0);
    if (k > 0) CHECK(cycles[k].gain <= cycles[k - 1].gain);
    for (std::size_t j = 0; j < cycles[k].length; ++j) CHECK(cycles[k].at[j] != 5);  // fixed: in none
    swap34 = swap34 || (cycles[k].length == 2 && cycles[k].at[0] == 3 && cycles[k].at[1] == 4);
  }
  CHECK(swap34);  // 3 and 4 swapping outs: gain 0.5 + 0.5
  // The other direction of the 3-cycle (0 takes 2's out) loses: -2 - (-1) each, so it is not listed.
  for (const auto& cycle : cycles) {
    CHECK(!(cycle.length == 3 && cycle.at[0] == 0 && cycle.at[1] == 2));
  }
}
