// solve_prefix.hpp - a solve whose first blocks are known (SolveOptions::prefix).
#pragma once

#include "humpty/solve.hpp"

namespace humpty {

// Checks the prefix (each piece in its role, none twice), runs it on the data, solves the pieces
// left as a puzzle of their own on the stream it leaves, and reports the whole assembly, its
// pairing table and its fit on the data as given. Called by solve when options.prefix is set.
Result<SolveReport> solve_after_prefix(const Puzzle& puzzle, const Dataset* data,
                                       const SolveOptions& options);

}  // namespace humpty
