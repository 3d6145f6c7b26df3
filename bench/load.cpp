// humpty_loadbench - load times in one process (no process start-up in the figure):
//
//   humpty_loadbench PIECES_DIR CSV BUNDLE RUNS
//
// prints the median milliseconds of: reading the .pth directory; the .humpty pieces only; the
// .pth directory and the CSV; the whole .humpty (pieces and data). Everything on one thread, so
// that the formats are compared, not the thread counts (the .pth files and the CSV are read on
// every core by default; a .humpty file is one sequential read).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "humpty/humpty.hpp"

namespace {

double median_ms(int runs, const std::function<bool()>& load) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!load()) return -1;
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: humpty_loadbench PIECES_DIR CSV BUNDLE RUNS\n");
    return 2;
  }
  const std::string pieces = argv[1], csv = argv[2], bundle = argv[3];
  const int runs = std::max(1, std::atoi(argv[4]));
  double pth = median_ms(runs, [&] { return humpty::read_puzzle(pieces, 1).ok(); });
  double bundle_pieces =
      median_ms(runs, [&] { return humpty::read_bundle(bundle, humpty::BundleParts::pieces).ok(); });
  double pth_csv =
      median_ms(runs, [&] { return humpty::read_puzzle(pieces, 1).ok() && humpty::read_csv(csv, 1).ok(); });
  double bundle_all = median_ms(runs, [&] { return humpty::read_bundle(bundle).ok(); });
  std::printf("pth_ms %.3f\nbundle_pieces_ms %.3f\npth_csv_ms %.3f\nbundle_all_ms %.3f\n", pth, bundle_pieces,
              pth_csv, bundle_all);
  return pth < 0 || bundle_pieces < 0 || pth_csv < 0 || bundle_all < 0 ? 1 : 0;
}
