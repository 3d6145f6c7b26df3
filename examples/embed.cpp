// examples/embed.cpp - humpty as a library: load a puzzle (or make one), solve it, print the
// SHA-256 of the answer. Built and run by `make test`, so this example cannot rot.
//
//     c++ -std=c++17 -Iinclude examples/embed.cpp build/libhumpty.a -pthread -o embed
//     ./embed                          # a generated puzzle
//     ./embed puzzle/pieces data.csv   # your own pieces and data
#include <cstdio>

#include "humpty/humpty.hpp"

int main(int argc, char** argv) {
  humpty::Puzzle puzzle;
  humpty::Dataset data;
  if (argc >= 3) {
    auto read = humpty::read_puzzle(argv[1]);
    auto csv = humpty::read_csv(argv[2]);
    if (!read || !csv) return std::fprintf(stderr, "%s\n", (read ? csv.message() : read.message()).c_str()), 3;
    puzzle = std::move(*read);
    data = std::move(*csv);
  } else {
    humpty::GenerateOptions options;  // 16 blocks, d=16, h=32, trained in about a second
    options.seed = 2;
    auto made = humpty::generate_puzzle(options);
    if (!made) return std::fprintf(stderr, "%s\n", made.message().c_str()), 3;
    puzzle = std::move(made->puzzle);
    data = std::move(made->data);
  }
  humpty::SolveOptions options;  // order auto, default seed, all cores
  auto report = humpty::solve(puzzle, &data, options);
  if (!report) return std::fprintf(stderr, "%s\n", report.message().c_str()), 3;
  std::printf("%s  %s\n", report->sha256.c_str(), report->fit.proves() ? "proven" : "not proven");
  return report->fit.proves() ? 0 : 1;
}
