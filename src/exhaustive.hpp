// exhaustive.hpp - every assembly of a puzzle small enough to try them all.
//
// Why: the search's moves are local, and a puzzle of a few blocks has few assemblies but rugged
// ones: on humpty's own square nets (d = h = 4) of 3 blocks the roles' flips and the search proved
// 7 of 24, of 4 blocks 1 of 24, where there are only 720 and 40,320 assemblies in all. Trying
// every one is certain and takes milliseconds; a search is then only needed where none is exact.
#pragma once

#include <cstdint>
#include <vector>

#include "humpty/solve.hpp"
#include "parallel.hpp"

namespace humpty {

struct Exhaustive {
  double assemblies = 0;         // how many assemblies hold the given blocks (counted, not tried)
  bool ran = false;              // few enough to try: every one was screened
  std::size_t screen_rows = 0;   // rows each assembly was screened on
  std::size_t judged = 0;        // the best screened, judged on every row
  Assembly best;                 // the best of those judged (when ran)
  Fit fit;                       // its fit on every row
  std::uint64_t block_rows = 0;  // block evaluations x rows
  double seconds = 0;
};

// How many assemblies of `puzzle` hold `given` of its blocks: n! orders times the pairings of the
// other pieces, m! for m inp and m out pieces, or (2m)!/m! with free roles (square blocks: any of
// the 2m pieces may be a block's inp or its out). As a double: it overflows an integer at 21 blocks.
double assembly_count(const Puzzle& puzzle, std::size_t given, bool free_roles);

// Tries every assembly that holds the `given` blocks when their count, times the multiply-adds of
// one block on SearchTuning::exhaustive_rows rows, stays within SearchTuning::exhaustive_work (else
// returns with `ran` false): each is screened by its squared error against pred on that many rows
// spread over the data (a prefix's stream is computed once for every assembly that starts with
// it), and the exhaustive_keep best are judged on every row. With `free_roles` any piece may be an
// inp or an out (square blocks; the puzzle's roles are ignored). The same result for any number
// of threads: ties go to the assembly met first in a fixed order of enumeration.
Exhaustive try_every_assembly(const Puzzle& puzzle, const Dataset& data, const std::vector<Block>& given,
                              bool free_roles, const SearchTuning& tuning, ThreadPool& pool);

}  // namespace humpty
