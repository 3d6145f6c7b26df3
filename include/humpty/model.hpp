// humpty/model.hpp - the pieces of a network, the data it was run on, and an assembly of both.
//
// A puzzle is a shuffled residual MLP:
//
//     for k in 0..N-1:  x = x + out_k(relu(inp_k(x)))    inp_k: Linear(d->h), out_k: Linear(h->d)
//     y = last(x)                                       last:  Linear(d->o), o != h
//
// cut into 2N+1 linear layers ("pieces"), numbered 0..2N. An assembly says which inp and out
// piece form each block and in which order the blocks run; its answer string is the piece
// indices in execution order, `inp_0,out_0,inp_1,out_1,...,last`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "humpty/result.hpp"

namespace humpty {

// One linear layer, as PyTorch's nn.Linear stores it: y = weight * x + bias.
struct Layer {
  std::size_t rows = 0;       // out_features
  std::size_t cols = 0;       // in_features
  std::vector<float> weight;  // rows x cols, row-major
  std::vector<float> bias;    // rows values; all zero when !has_bias
  // nn.Linear(..., bias=False) stores no bias. Such a layer computes with zeros (so every kernel
  // stays one code path) and is written back without one, so that its state dict loads as it was.
  bool has_bias = true;
};

enum class Role { inp, out, last };
const char* role_name(Role role);
// "an inp layer", "an out layer", "the last layer": a role in a message.
std::string role_layer(Role role);

// The pieces of one network with the role each plays, found from the shapes (or, for square
// blocks, the weights).
struct Puzzle {
  std::string source;           // where the pieces came from, for messages
  std::vector<Layer> pieces;    // piece k is pieces[k]
  std::vector<Role> roles;      // roles[k] is the role of piece k
  std::size_t dim = 0;          // d: the width of the residual stream
  std::size_t hidden = 0;       // h: the width inside a block
  std::size_t outputs = 0;      // o: rows of the last layer
  std::vector<int> inp_pieces;  // ascending piece indices
  std::vector<int> out_pieces;  // ascending piece indices
  // Piece k's file name when a directory's layer files are not named piece_<k> and so are
  // numbered by their names in natural order ("layer_2" before "layer_10"); empty otherwise.
  std::vector<std::string> files;
  int last_piece = -1;
  // d == h: every block piece is d x d, so the roles above are the weights' guess (roles.cpp),
  // not the shapes' verdict; an assembly may use any of those pieces in either role.
  bool square = false;

  std::size_t blocks() const { return inp_pieces.size(); }
  // Whether piece k (a valid index) may play `role` in an assembly: its own role, or either block
  // role when the blocks are square.
  bool can_play(int k, Role role) const {
    const Role own = roles[std::size_t(k)];
    return own == role || (square && own != Role::last && role != Role::last);
  }
};

// The mantissa bits a layer's values were stored with, told from the values themselves (so a
// .humpty file or a converted directory keeps it): 7 when every weight and bias is a bfloat16, 10
// when every one is a float16, else 23 (float32, or float64 converted). A layer with fewer than 32
// nonzero values counts as float32: zeros and a few round numbers tell nothing. For a puzzle, the
// coarsest of its pieces'. Proofs allow for it (Fit::stored_bits).
int stored_mantissa_bits(const Layer& layer);
int stored_mantissa_bits(const Puzzle& puzzle);

// Classifies pieces by shape (inp h x d, out d x h, last o x d with o != h) and checks that they
// form one network. Square blocks (d == h) get their roles from the weights (Puzzle::square). Errors name
// what does not fit: "48 inp layers (96x48) but 47 out layers (48x96)", "2 pieces have the last layer's shape
// 1x48 (piece 85, piece 90)", ...
Result<Puzzle> make_puzzle(std::vector<Layer> pieces, std::string source);

// Reads a puzzle: a directory of piece_<k>.pth files (or .pt or .safetensors, each read by
// read_layer; piece k is file k; other files are ignored; read on `threads` threads, <= 0: one
// per core), or a .humpty file. A directory without piece_<k> files takes every .pth, .pt and
// .safetensors file but hidden ones, numbered in natural name order (Puzzle::files). Errors name the file and
// the place in it (the first failing piece, in piece order).
Result<Puzzle> read_puzzle(const std::string& path, int threads = 0);

// Reads one PyTorch nn.Linear state dict (`torch.save(layer.state_dict(), path)`): a ZIP of stored
// entries holding a protocol-2 pickle and raw little-endian storages. float32, float64, float16 and
// bfloat16 tensors are converted to float32. The pickle is never executed: only the calls PyTorch
// writes for tensors are understood, anything else is rejected by name. A whole nn.Linear module
// (torch.save(layer)) and a TorchScript one (torch.jit.save) read as their state dicts. A state dict without
// 'bias' (nn.Linear(..., bias=False)) gives a layer with has_bias false.
Result<Layer> read_pth(const std::string& path);
Result<Layer> parse_pth(const std::uint8_t* data, std::size_t size, const std::string& name);

// Reads one nn.Linear state dict saved as safetensors (`safetensors.torch.save_file(
// layer.state_dict(), path)`): an 8-byte header length, a JSON header, the raw little-endian
// tensors. F32, F64, F16 and BF16 tensors are converted to float32; the header is checked as the
// reference reader checks it (ranges that tile the data exactly, sizes that match the shapes),
// and a name given twice or a field humpty does not know is refused by name.
Result<Layer> read_safetensors(const std::string& path);
Result<Layer> parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& name);

// Reads one layer file of any of the formats above, told apart by its first bytes, not its name
// (a ZIP or legacy .pth, or safetensors); bytes that are none of them get the error of the format
// the name's suffix promises (.safetensors, else .pth).
Result<Layer> read_layer(const std::string& path);
Result<Layer> parse_layer(const std::uint8_t* data, std::size_t size, const std::string& name);

// Rows the network was run on: features (every column before `pred`), the network's output
// `pred`, and optionally the training target `true`. A network whose last layer has o > 1 outputs
// has o pred columns, pred_0 .. pred_{o-1}: pred holds output 0, which the search fits (any one
// output tells assemblies apart as well as all of them), and pred_rest the others, which the
// proof checks too; its targets, when given, are true_0 .. true_{o-1} (truth and truth_rest).
struct Dataset {
  std::string source;
  std::size_t rows = 0;
  std::size_t features = 0;
  std::vector<std::string> feature_names;
  std::vector<float> x;       // rows x features, row-major
  std::vector<double> pred;   // rows: the network's output (output 0 when it has several)
  std::size_t outputs = 1;    // the network's outputs: pred columns
  std::vector<double> pred_rest;  // outputs 1 .. outputs-1, output by output (rows values each)
  std::vector<double> truth;      // rows (output 0's target), or empty when there is no `true` column
  std::vector<double>
      truth_rest;              // with truth and outputs > 1: outputs 1 .. outputs-1's targets, as pred_rest
  bool index_dropped = false;  // the CSV's first column was a row index (pandas', R's), left out (read_csv)
  bool has_truth() const { return !truth.empty(); }
};

// Reads a CSV file: a header row, then one row of numbers per line (LF or CRLF). Names and
// numbers may stand in double quotes (as Python's csv module and R quote them), without a quote or
// a comma inside; a UTF-8 byte order mark before the header is skipped.
// The network's output is the column `pred`, or the columns pred_0, pred_1, ... side by side for
// several outputs; then optionally the target, `true`, or true_0, true_1, ... side by side (all
// of them) for several outputs. Other columns after the features are ignored (`true` too with
// several outputs), and so is a first column without a name
// whose values count 0, 1, 2, ... (the index pandas' to_csv writes by default), or one named ""
// counting 1, 2, ... (R's write.csv row names); index_dropped then says so. Errors read `path:line:column:
// ...` and name the first problem in the file. Large files are parsed on `threads` threads (<= 0: one per
// core); the result does not depend on it.
Result<Dataset> read_csv(const std::string& path, int threads = 0);
Result<Dataset> parse_csv(std::string_view text, const std::string& name, int threads = 0);

// One residual block: which inp piece and which out piece.
struct Block {
  int inp = -1;
  int out = -1;
  bool operator==(const Block& other) const { return inp == other.inp && out == other.out; }
  bool operator!=(const Block& other) const { return !(*this == other); }
};

// A full assembly: the blocks in execution order, then the last layer.
struct Assembly {
  std::vector<Block> blocks;
  int last = -1;
  bool operator==(const Assembly& other) const { return blocks == other.blocks && last == other.last; }
  bool operator!=(const Assembly& other) const { return !(*this == other); }
};

// A square puzzle (Puzzle::square) with the roles `assembly` gives its pieces (which must be a
// valid assembly of it); any other puzzle unchanged. The search's tables follow the puzzle's
// roles, so a start that uses square pieces otherwise needs this first (solve does it).
Puzzle with_roles(Puzzle puzzle, const Assembly& assembly);

// The answer string: piece indices in execution order joined by commas, no spaces.
std::string format_answer(const Assembly& assembly);

// Parses an answer string (surrounding whitespace allowed) and checks that it is a permutation of
// the puzzle's pieces with each role in its place. Pieces numbered by their file names
// (Puzzle::files) may be given by those names too, as `solve` logs them. `name` is used in messages.
Result<Assembly> parse_answer(std::string_view text, const Puzzle& puzzle, const std::string& name);

// Checks that an assembly uses each of the puzzle's pieces once, each in its role. Errors name the
// first problem ("block 3: piece 17 is an out layer, not an inp layer").
Status check_assembly(const Puzzle& puzzle, const Assembly& assembly);

// The same for some of the blocks (e.g. a prefix): each piece exists and plays its role, none
// twice. Errors name blocks by `label` ("prefix block 0: piece 5 is used twice").
Status check_blocks(const Puzzle& puzzle, const std::vector<Block>& blocks, const std::string& label);

// The same, with square pieces (which check_blocks lets play either role) held to the roles the
// puzzle gives them now ("given pair 0: piece 5 is an out layer here, not an inp layer").
Status check_roles(const Puzzle& puzzle, const std::vector<Block>& blocks, const std::string& label);

// Parses whole blocks (an inp piece, then its out piece), as parse_answer checks them (each piece
// in its role, none twice), without the last layer: the beginning of an answer (a prefix), or
// known pairs.
Result<std::vector<Block>> parse_blocks(std::string_view text, const Puzzle& puzzle, const std::string& name);

// Reads blocks (parse_blocks) from the first line of a regular file of at most 16 MiB.
Result<std::vector<Block>> read_blocks(const std::string& path, const Puzzle& puzzle);

// Reads an answer from the first line of a regular file of at most 16 MiB (an answer.txt from
// `generate` carries the SHA-256 on its second line).
Result<Assembly> read_answer(const std::string& path, const Puzzle& puzzle);

// SHA-256 (FIPS 180-4) of bytes, as 64 lowercase hex digits.
std::string sha256_hex(const void* data, std::size_t size);
inline std::string sha256_hex(std::string_view text) {
  return sha256_hex(text.data(), text.size());
}

}  // namespace humpty
