// humpty/humpty.hpp - puts a "dropped" residual network back together. The library in one include.
//
//     #include "humpty/humpty.hpp"
//
//     auto puzzle = humpty::read_puzzle("pieces");            // piece_<k>.pth files
//     if (!puzzle) { std::cerr << puzzle.message() << "\n"; return 3; }
//     auto data = humpty::read_csv("historical_data.csv");    // optional: rows the net was run on
//     if (!data) { std::cerr << data.message() << "\n"; return 3; }
//
//     humpty::SolveOptions options;                           // order: auto, seed, threads, ...
//     options.search.log = [](const std::string& stage, const std::string& line) {
//       std::cerr << stage << ": " << line << "\n";           // the library never prints
//     };
//     auto report = humpty::solve(*puzzle, &*data, options);  // or nullptr for no data
//     if (!report) { std::cerr << report.message() << "\n"; return 3; }
//     std::cout << report->answer << "\n";                    // "inp,out,inp,out,...,last"
//     bool proven = report->fit.proves();  // MSE vs pred at float rounding, on enough rows
//
// Everything is in namespace humpty. No function throws: failures come back as a Status or a
// Result<T> with a message naming the input and the place. No global state: the same inputs and
// seed give the same answer and the same report for any number of threads.
#pragma once

#include "humpty/format.hpp"
#include "humpty/generate.hpp"
#include "humpty/model.hpp"
#include "humpty/report.hpp"
#include "humpty/result.hpp"
#include "humpty/solve.hpp"

namespace humpty {

const char* version();             // "0.1.0"
const char* kernel_description();  // the dense kernel this machine runs, e.g. "avx2"
int hardware_threads();            // what threads = 0 means

}  // namespace humpty
