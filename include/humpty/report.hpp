// humpty/report.hpp - what a run found, as JSON (for scripts) and as an SVG picture (for people).
//
// Both are built from a SolveReport and return text; writing it (atomically) is the caller's
// business, e.g. write_text_file from humpty/format.hpp. The JSON fields are documented in the
// README ("Reports").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "humpty/model.hpp"
#include "humpty/solve.hpp"

namespace humpty {

// What the report cannot know from the SolveReport alone.
struct ReportContext {
  std::string command;          // "solve", "verify", "inspect", "demo"
  std::string data_source;      // empty: no data
  std::size_t data_rows = 0;
  double pred_variance = -1;    // var(pred) over the data's rows; < 0: not known
  std::string order_method;     // "auto", "chain", "search", "given" (verify), "" (inspect)
  std::uint64_t seed = 0;
  int threads = 0;              // the number actually used
  std::string expected_sha256;  // empty when none was given
  std::string verdict;          // one line: "proven", "not proven: ...", "no data: best guess"
  bool proven = false;
  std::vector<std::pair<std::string, double>> seconds;  // stages, in the order they ran
};

// The report as one JSON object (UTF-8, numbers in shortest round-trip form, null for what does
// not apply or is not finite).
std::string report_json(const Puzzle& puzzle, const SolveReport& report, const ReportContext& context);

// One self-contained SVG: the pairing score matrix with the chosen pairs marked, ||W_out||_F and
// the out-bias step lengths along the assembly's order, and (when the search ran) its best MSE
// against time on a log scale; the title gives the verdict and the SHA-256.
std::string report_svg(const Puzzle& puzzle, const SolveReport& report, const ReportContext& context);

}  // namespace humpty
