// support.hpp - shared helpers for the tests: the published puzzle, scratch directories, small
// hand-built networks and running the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "humpty/humpty.hpp"
#include "pickle.hpp"

namespace test {

// The published puzzle's folder: $HUMPTY_PUZZLE, else ../shared/puzzle (tests run from the
// repository root). Only tests tagged [published] may use it (puzzle_dir throws otherwise); the
// test main skips them, and says so, when the files are not there.
std::string published_location();
bool published_available();
std::string puzzle_dir();
const humpty::Puzzle& published_puzzle();
const humpty::Dataset& published_data();
constexpr const char* kPublishedSha256 = "093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4";

// The published puzzle's right assembly, as the data-free solver finds it; the tests that use
// it first check it against the SHA-256 and the data.
const humpty::Assembly& published_answer();

// A fresh empty directory under the system's temp folder, removed at exit.
std::string scratch_dir(const std::string& name);

void write_text(const std::string& path, const std::string& text);
void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_bytes(const std::string& path);

// A state dict of a contiguous float32 weight (rows x cols, storage "0") and bias (bias_rows
// values, storage "1"), as torch.save describes a Linear layer.
humpty::StateDict linear_state_dict(std::uint64_t rows, std::uint64_t cols, std::uint64_t bias_rows);

// A layer with weights from a seeded generator, scaled by `scale`.
humpty::Layer random_layer(std::size_t rows, std::size_t cols, std::uint64_t seed, float scale = 0.2f);

// Generation options with these sizes (the rest default).
humpty::GenerateOptions options_for(std::size_t blocks, std::size_t dim, std::size_t hidden, std::size_t rows,
                                    std::size_t epochs, std::uint64_t seed);

// A puzzle generated and trained by the library (cached per process, by its options).
const humpty::GeneratedPuzzle& generated(std::size_t blocks, std::size_t dim, std::size_t hidden,
                                         std::size_t rows, std::size_t epochs, std::uint64_t seed);
// The same with any options (its threads and log aside).
const humpty::GeneratedPuzzle& generated(const humpty::GenerateOptions& options);

// The network sub-puzzles are cut from: generated (so that no test needs the published files),
// kBaseBlocks blocks of d=16, h=32, 40 epochs of Adam on 2000 rows.
constexpr std::size_t kBaseBlocks = 24;
const humpty::GeneratedPuzzle& base_network();

// A puzzle made of blocks of the base network: the right blocks at `positions` (< kBaseBlocks) of
// the right order, shuffled into new piece numbers, with data (the first `rows` <= 2000 rows of
// the base network's features) whose pred is this network's own output. answer is its right
// assembly.
struct SubPuzzle {
  humpty::Puzzle puzzle;
  humpty::Dataset data;
  humpty::Assembly answer;
};
SubPuzzle sub_puzzle(const std::vector<std::size_t>& positions, std::size_t rows, std::uint64_t seed);

// A puzzle of square blocks (d == h) built by hand with the fingerprints of a long-trained net:
// each out layer is -0.3 times its inp's transpose plus noise, so W_out W_in is near a negative
// multiple of a positive definite matrix (the pair), with units of different sizes whose inp
// biases follow them (the roles, mostly: the data must settle the rest). `rows` rows of features
// ~ N(0, 1) with pred from the library's forward pass.
SubPuzzle square_puzzle(std::size_t blocks, std::size_t dim, std::size_t rows, std::uint64_t seed);

// Writes a puzzle as a directory of piece_<k>.pth files.
void write_pieces(const humpty::Puzzle& puzzle, const std::string& dir);
void write_csv(const humpty::Dataset& data, const std::string& path);

// Runs build/humpty with the arguments (a shell-quoted string); captures stdout and stderr.
struct Run {
  int exit_code = -1;
  std::string out, err;
};
Run run_cli(const std::string& arguments);

// Runs a shell script in which $HUMPTY is build/humpty; captures its stdout and stderr.
Run run_shell(const std::string& script);

}  // namespace test
