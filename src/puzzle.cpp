// Pieces to puzzle: classification by shape, the pieces directory, and answer strings.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>

#include "finite.hpp"
#include "humpty/format.hpp"
#include "humpty/model.hpp"
#include "io.hpp"
#include "parallel.hpp"
#include "roles.hpp"
#include "text.hpp"

namespace humpty {

const char* role_name(Role role) {
  switch (role) {
    case Role::inp:
      return "inp";
    case Role::out:
      return "out";
    case Role::last:
      return "last";
  }
  return "?";
}

std::string role_layer(Role role) {
  return role == Role::last ? "the last layer" : std::string("an ") + role_name(role) + " layer";
}

namespace {

using Shape = std::pair<std::size_t, std::size_t>;

std::string shape_text(Shape shape) {
  return std::to_string(shape.first) + "x" + std::to_string(shape.second);
}

// "piece k", and the file's name when the pieces were numbered by their names (files[k]).
std::string piece_label(int k, const std::vector<std::string>& files) {
  std::string text = "piece " + std::to_string(k);
  if (std::size_t(k) < files.size()) text += " (" + files[std::size_t(k)] + ")";
  return text;
}

std::string piece_list(const std::vector<int>& pieces, const std::vector<std::string>& files) {
  std::string text;
  for (std::size_t i = 0; i < pieces.size() && i < 6; ++i) {
    text += (i ? ", " : "") + piece_label(pieces[i], files);
  }
  if (pieces.size() > 6) text += ", ...";
  return text;
}

// make_puzzle, with the pieces' file names (or none) for its messages and Puzzle::files.
Result<Puzzle> classify_pieces(std::vector<Layer> pieces, std::string source,
                               std::vector<std::string> files) {
  if (pieces.size() < 3) {
    return Status::failure(source + ": " + std::to_string(pieces.size()) +
                           " pieces cannot form a network (at least one inp, one out and the last "
                           "layer are needed)");
  }
  std::map<Shape, std::vector<int>> by_shape;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const Layer& layer = pieces[k];
    if (layer.bias.size() != layer.rows || layer.weight.size() != layer.rows * layer.cols) {
      return Status::failure(source + ": " + piece_label(int(k), files) + " has a bias of " +
                             std::to_string(layer.bias.size()) + " values for " + std::to_string(layer.rows) +
                             " weight rows");
    }
    if (std::string bad = describe_non_finite(layer.weight, layer.cols, layer.bias); !bad.empty()) {
      return Status::failure(source + ": " + piece_label(int(k), files) + ": " + bad +
                             ": layer values must be finite");
    }
    // A layer without a bias computes with zeros; anything else would run a network that cannot
    // be written back as it ran.
    if (!layer.has_bias &&
        std::any_of(layer.bias.begin(), layer.bias.end(), [](float b) { return b != 0; })) {
      return Status::failure(source + ": " + piece_label(int(k), files) +
                             " has no bias, but nonzero bias values");
    }
    by_shape[{layer.rows, layer.cols}].push_back(int(k));
  }
  auto describe = [&] {
    std::string text;
    for (const auto& [shape, list] : by_shape) {
      text += (text.empty() ? "" : ", ") + std::to_string(list.size()) + " of " + shape_text(shape);
    }
    return text;
  };
  // Square blocks (d == h): every piece but the last is d x d, the last o x d with o != d. The
  // shapes cannot tell inp from out, so the weights give the roles, a guess (roles.hpp).
  if (by_shape.size() == 2 && pieces.size() % 2 == 1) {
    const auto square = std::find_if(by_shape.begin(), by_shape.end(), [](const auto& entry) {
      return entry.first.first == entry.first.second;
    });
    const auto other = square == by_shape.begin() ? std::next(by_shape.begin()) : by_shape.begin();
    if (square != by_shape.end() && other->second.size() == 1 && other->first.second == square->first.first) {
      Puzzle puzzle;
      puzzle.source = std::move(source);
      puzzle.dim = puzzle.hidden = square->first.first;
      puzzle.outputs = other->first.first;
      puzzle.last_piece = other->second[0];
      puzzle.square = true;
      puzzle.roles.assign(pieces.size(), Role::inp);
      for (const Block& block : square_blocks(pieces, square->second)) {
        puzzle.inp_pieces.push_back(block.inp);
        puzzle.out_pieces.push_back(block.out);
        puzzle.roles[std::size_t(block.out)] = Role::out;
      }
      std::sort(puzzle.inp_pieces.begin(), puzzle.inp_pieces.end());
      std::sort(puzzle.out_pieces.begin(), puzzle.out_pieces.end());
      puzzle.roles[std::size_t(puzzle.last_piece)] = Role::last;
      puzzle.pieces = std::move(pieces);
      puzzle.files = std::move(files);
      return puzzle;
    }
  }
  // The last layer is o x d (any o but h, whose layer would have the inp layers' shape); inp layers
  // are h x d, out layers d x h, as many of each.
  const std::size_t blocks = (pieces.size() - 1) / 2;
  Shape inp{}, out{}, last{};
  bool found = false;
  for (const auto& [shape, list] : by_shape) {
    Shape mirrored{shape.second, shape.first};
    if (shape.first == shape.second || !by_shape.count(mirrored)) continue;
    if (list.size() != blocks || by_shape.at(mirrored).size() != blocks) continue;
    // `shape` is h x d when some other shape o x d completes the set.
    for (const auto& [other, other_list] : by_shape) {
      if (other != shape && other != mirrored && other.second == shape.second) {
        inp = shape;
        out = mirrored;
        last = other;
        found = true;
      }
    }
  }
  if (!found) {
    // Say what is wrong in the most common ways before giving up with the shape census.
    for (const auto& [shape, list] : by_shape) {
      Shape mirrored{shape.second, shape.first};
      if (by_shape.size() == 2 && by_shape.count(mirrored) &&
          list.size() == by_shape.at(mirrored).size() + 1) {
        return Status::failure(
            source + ": " + std::to_string(list.size()) + " layers of " + shape_text(shape) + " and " +
            std::to_string(by_shape.at(mirrored).size()) + " of " + shape_text(mirrored) +
            ": a last layer with as many outputs as the hidden width (" + std::to_string(shape.first) +
            ") has the inp layers' shape, so it cannot be told apart by shape");
      }
    }
    for (const auto& [shape, list] : by_shape) {
      Shape mirrored{shape.second, shape.first};
      if (shape.first == shape.second) {
        return Status::failure(source + ": " + std::to_string(list.size()) + " pieces are square (" +
                               shape_text(shape) +
                               "): inp and out layers cannot be told apart by shape when the "
                               "hidden width equals the stream width");
      }
      if (by_shape.count(mirrored) && shape < mirrored && list.size() != by_shape.at(mirrored).size()) {
        return Status::failure(source + ": " + std::to_string(list.size()) + " layers of " +
                               shape_text(shape) + " but " + std::to_string(by_shape.at(mirrored).size()) +
                               " of " + shape_text(mirrored) + "; every block needs one of each (found " +
                               describe() + ")");
      }
    }
    return Status::failure(source +
                           ": the pieces do not form a residual network (expected N inp "
                           "layers h x d, N out layers d x h and one last layer o x d; found " +
                           describe() + ")");
  }
  const auto& last_list = by_shape.at(last);
  if (by_shape.size() != 3) {
    return Status::failure(source + ": shapes that fit no role (found " + describe() + "; expected " +
                           shape_text(inp) + ", " + shape_text(out) + " and one " + shape_text(last) + ")");
  }
  if (last_list.size() != 1) {
    return Status::failure(source + ": " + std::to_string(last_list.size()) +
                           " pieces have the last layer's shape " + shape_text(last) + " (" +
                           piece_list(last_list, files) + "); expected exactly one");
  }
  Puzzle puzzle;
  puzzle.source = std::move(source);
  puzzle.dim = inp.second;
  puzzle.hidden = inp.first;
  puzzle.outputs = last.first;
  puzzle.inp_pieces = by_shape.at(inp);
  puzzle.out_pieces = by_shape.at(out);
  puzzle.last_piece = last_list[0];
  puzzle.roles.assign(pieces.size(), Role::inp);
  for (int k : puzzle.out_pieces) puzzle.roles[std::size_t(k)] = Role::out;
  puzzle.roles[std::size_t(puzzle.last_piece)] = Role::last;
  puzzle.pieces = std::move(pieces);
  puzzle.files = std::move(files);
  return puzzle;
}

}  // namespace

Result<Puzzle> make_puzzle(std::vector<Layer> pieces, std::string source) {
  return classify_pieces(std::move(pieces), std::move(source), {});
}

namespace {

// The suffixes of piece files: torch.save's two usual ones and safetensors'.
const char* const kPieceSuffixes[] = {".pth", ".pt", ".safetensors"};

// The piece suffix `file` ends with, or "".
std::string piece_suffix(const std::string& file) {
  for (const std::string suffix : kPieceSuffixes) {
    if (file.size() > suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0)
      return suffix;
  }
  return "";
}

// "piece_<k>.pth" (or another of kPieceSuffixes) with k a decimal number without leading zeros;
// -1 for any other name.
long piece_number(const std::string& file) {
  const std::string prefix = "piece_";
  const std::string suffix = piece_suffix(file);
  if (suffix.empty() || file.size() <= prefix.size() + suffix.size() ||
      file.compare(0, prefix.size(), prefix) != 0)
    return -1;
  const char* begin = file.data() + prefix.size();
  const char* end = file.data() + file.size() - suffix.size();
  if (*begin == '0' && end - begin > 1) return -1;
  long k = -1;
  auto [ptr, ec] = std::from_chars(begin, end, k);
  if (ec != std::errc() || ptr != end || k < 0) return -1;
  return k;
}

// Directories with more pieces than this are rejected as likely not a puzzle.
constexpr long kMaxPieces = 1 << 16;

// The length of the run of decimal digits at s[i..].
std::size_t digit_run(const std::string& s, std::size_t i) {
  std::size_t j = i;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
  return j - i;
}

// Natural name order, as file managers sort: runs of digits compare by their value ("layer_2"
// before "layer_10"), everything else byte by byte; names equal so far ("7" and "007") fall back to
// plain byte order, so the order is total and does not depend on the directory's listing.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const std::size_t m = digit_run(a, i), n = digit_run(b, j);
    if (m > 0 && n > 0) {
      std::size_t za = 0, zb = 0;  // leading zeros, which do not change the value
      while (za + 1 < m && a[i + za] == '0') ++za;
      while (zb + 1 < n && b[j + zb] == '0') ++zb;
      const std::size_t la = m - za, lb = n - zb;
      if (la != lb) return la < lb;
      const int c = a.compare(i + za, la, b, j + zb, lb);
      if (c != 0) return c < 0;
      i += m;
      j += n;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  if ((i < a.size()) != (j < b.size())) return j < b.size();
  return a < b;
}

// Reads the layer files `paths` (piece k is paths[k]) on every thread; the first error in piece
// order is the one reported. `files`: the pieces' names when they number them, else empty.
Result<Puzzle> read_layer_files(const std::vector<std::string>& paths, const std::string& source,
                                std::vector<std::string> files, int threads) {
  std::vector<Result<Layer>> layers(paths.size(), Status::failure("not read"));
  ThreadPool(threads).run(paths.size(), [&](std::size_t k, int) { layers[k] = read_layer(paths[k]); });
  std::vector<Layer> pieces;
  pieces.reserve(paths.size());
  for (auto& layer : layers) {
    if (!layer) return layer.status();
    pieces.push_back(std::move(*layer));
  }
  return classify_pieces(std::move(pieces), source, std::move(files));
}

// A directory whose layer files are not named piece_<k>: every file with a piece suffix is a
// piece, numbered in natural name order (hidden files, such as macOS's "._name.pth", left out).
Result<Puzzle> read_named_layer_files(const std::string& path, std::vector<std::string> names, int threads) {
  if (names.empty()) {
    return Status::failure(path + ": no layer files (.pth, .pt or .safetensors) in this directory");
  }
  if (long(names.size()) > kMaxPieces) {
    return Status::failure(path + ": " + std::to_string(names.size()) + " layer files, above the limit of " +
                           std::to_string(kMaxPieces));
  }
  std::sort(names.begin(), names.end(), natural_less);
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const std::string& name : names) paths.push_back((std::filesystem::path(path) / name).string());
  return read_layer_files(paths, path, std::move(names), threads);
}

Result<Puzzle> read_pieces_directory(const std::string& path, int threads) {
  std::error_code error;
  std::filesystem::directory_iterator it(path, error), end;
  if (error) return Status::failure(path + ": cannot list directory: " + error.message());
  std::map<long, std::string> files;
  std::vector<std::string> others;  // layer files of other names, used when no piece_<k> is there
  for (; it != end; it.increment(error)) {
    if (error) return Status::failure(path + ": cannot list directory: " + error.message());
    std::string file = it->path().filename().string();
    long k = piece_number(file);
    if (k < 0) {
      if (!piece_suffix(file).empty() && file[0] != '.' && long(others.size()) <= kMaxPieces)
        others.push_back(std::move(file));
      continue;
    }
    if (k >= kMaxPieces) {
      return Status::failure(it->path().string() + ": piece number " + std::to_string(k) +
                             " is above the limit of " + std::to_string(kMaxPieces));
    }
    if (!files.emplace(k, it->path().string()).second) {
      // piece_3.pth beside piece_3.pt: which one is piece 3 is not ours to guess.
      // (Copies: std::minmax returns references, one of them to a temporary.)
      std::string first = files[k], second = it->path().string();
      if (second < first) std::swap(first, second);
      return Status::failure(path + ": two files for piece " + std::to_string(k) + ": " +
                             std::filesystem::path(first).filename().string() + " and " +
                             std::filesystem::path(second).filename().string());
    }
  }
  // piece_<k> names are the puzzle's own numbering (the published answer's SHA-256 depends on it);
  // only without them do the names' order number the pieces.
  if (files.empty()) return read_named_layer_files(path, std::move(others), threads);
  long count = files.rbegin()->first + 1;
  if (long(files.size()) != count) {
    for (long k = 0; k < count; ++k) {
      if (!files.count(k)) {
        const std::string suffix = piece_suffix(files.begin()->second);
        return Status::failure(path + ": piece_" + std::to_string(k) + suffix + " is missing (found " +
                               std::to_string(files.size()) + " pieces numbered up to " +
                               std::to_string(count - 1) + ")");
      }
    }
  }
  std::vector<std::string> paths;
  paths.reserve(files.size());
  for (const auto& entry : files) paths.push_back(entry.second);
  return read_layer_files(paths, path, {}, threads);
}

}  // namespace

Result<Puzzle> read_puzzle(const std::string& path, int threads) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return read_pieces_directory(path, threads);
  if (error && error != std::errc::no_such_file_or_directory) {
    return Status::failure(path + ": " + error.message());
  }
  if (!std::filesystem::exists(path, error)) {
    return Status::failure(path + ": no such file or directory");
  }
  if (!std::filesystem::is_regular_file(path, error)) {
    // A FIFO, socket or device: say what it is instead of waiting on it.
    auto opened = open_regular_file(path);
    return Status::failure(opened ? path + ": not a regular file" : opened.message());
  }
  if (!is_bundle(path)) {
    return Status::failure(
        path + ": neither a directory of piece_<k>.pth (or .pt or .safetensors) files nor a .humpty file");
  }
  auto bundle = read_bundle(path, BundleParts::pieces);
  if (!bundle) return bundle.status();
  return std::move(bundle->puzzle);
}

Puzzle with_roles(Puzzle puzzle, const Assembly& assembly) {
  if (!puzzle.square) return puzzle;
  puzzle.inp_pieces.clear();
  puzzle.out_pieces.clear();
  for (const Block& block : assembly.blocks) {
    puzzle.inp_pieces.push_back(block.inp);
    puzzle.out_pieces.push_back(block.out);
    puzzle.roles[std::size_t(block.inp)] = Role::inp;
    puzzle.roles[std::size_t(block.out)] = Role::out;
  }
  std::sort(puzzle.inp_pieces.begin(), puzzle.inp_pieces.end());
  std::sort(puzzle.out_pieces.begin(), puzzle.out_pieces.end());
  return puzzle;
}

namespace {

// Whether piece `piece` exists, may play `role` and is not yet `used` (then marked), for messages
// that begin with `where`.
Status check_piece(const Puzzle& puzzle, int piece, Role role, const std::string& where,
                   std::vector<char>& used) {
  if (piece < 0 || std::size_t(piece) >= puzzle.pieces.size()) {
    return Status::failure(where + ": piece " + std::to_string(piece) + " does not exist");
  }
  if (!puzzle.can_play(piece, role)) {
    return Status::failure(where + ": piece " + std::to_string(piece) + " is " +
                           role_layer(puzzle.roles[std::size_t(piece)]) + ", not " + role_layer(role));
  }
  if (used[std::size_t(piece)]++)
    return Status::failure(where + ": piece " + std::to_string(piece) + " is used twice");
  return Status();
}

Status check_pieces(const Puzzle& puzzle, const std::vector<Block>& blocks, const std::string& label,
                    std::vector<char>& used) {
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::string where = label + " " + std::to_string(b);
    if (Status s = check_piece(puzzle, blocks[b].inp, Role::inp, where, used); !s) return s;
    if (Status s = check_piece(puzzle, blocks[b].out, Role::out, where, used); !s) return s;
  }
  return Status();
}

}  // namespace

Status check_blocks(const Puzzle& puzzle, const std::vector<Block>& blocks, const std::string& label) {
  std::vector<char> used(puzzle.pieces.size(), 0);
  return check_pieces(puzzle, blocks, label, used);
}

Status check_roles(const Puzzle& puzzle, const std::vector<Block>& blocks, const std::string& label) {
  if (Status s = check_blocks(puzzle, blocks, label); !s) return s;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    for (auto [piece, role] : {std::pair{blocks[b].inp, Role::inp}, std::pair{blocks[b].out, Role::out}}) {
      const Role own = puzzle.roles[std::size_t(piece)];
      if (own != role) {
        return Status::failure(label + " " + std::to_string(b) + ": piece " + std::to_string(piece) + " is " +
                               role_layer(own) + " here, not " + role_layer(role));
      }
    }
  }
  return Status();
}

Status check_assembly(const Puzzle& puzzle, const Assembly& assembly) {
  if (assembly.blocks.size() != puzzle.blocks()) {
    return Status::failure("the assembly has " + std::to_string(assembly.blocks.size()) + " blocks, the puzzle " +
                           std::to_string(puzzle.blocks()));
  }
  std::vector<char> used(puzzle.pieces.size(), 0);
  if (Status s = check_pieces(puzzle, assembly.blocks, "block", used); !s) return s;
  return check_piece(puzzle, assembly.last, Role::last, "the last layer", used);
}

Result<Assembly> read_answer(const std::string& path, const Puzzle& puzzle) {
  if (path.empty()) return Status::failure("an answer file needs a name (@FILE)");
  auto bytes = read_file(path, std::uint64_t(16) << 20);
  if (!bytes) return bytes.status();
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return parse_answer(text.substr(0, text.find('\n')), puzzle, path);
}

std::string format_answer(const Assembly& assembly) {
  std::string text;
  for (const Block& block : assembly.blocks) {
    text += std::to_string(block.inp) + "," + std::to_string(block.out) + ",";
  }
  return text + std::to_string(assembly.last);
}

namespace {

// The pieces an answer string lists (numbers, or file names where pieces are numbered by their
// names), each checked to exist; surrounding whitespace allowed.
Result<std::vector<int>> parse_pieces(std::string_view text, const Puzzle& puzzle, const std::string& name) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  std::vector<int> indices;
  std::size_t at = 0;
  while (true) {
    std::size_t comma = text.find(',', at);
    std::string_view field = text.substr(at, comma == std::string_view::npos ? text.npos : comma - at);
    int k = -1;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), k);
    if (field.empty() || ec != std::errc() || ptr != field.data() + field.size()) {
      // Pieces numbered by their file names may be named by them too (every name has a suffix,
      // so no name reads as a number).
      const auto file = std::find(puzzle.files.begin(), puzzle.files.end(), field);
      if (field.empty() || file == puzzle.files.end()) {
        return Status::failure(name + ":" + std::to_string(at + 1) + ": expected a piece number" +
                               (puzzle.files.empty() ? "" : " or file name") + ", got " +
                               (field.empty() ? std::string("nothing") : quoted(field.substr(0, 40))));
      }
      k = int(file - puzzle.files.begin());
    }
    if (k < 0 || std::size_t(k) >= puzzle.pieces.size()) {
      return Status::failure(name + ":" + std::to_string(at + 1) + ": piece " + std::to_string(k) +
                             " does not exist (the puzzle has pieces 0 to " +
                             std::to_string(puzzle.pieces.size() - 1) + ")");
    }
    indices.push_back(k);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return indices;
}

// Checks that no piece appears twice and that each plays its role at its position: inp, out,
// inp, ..., and the last layer at the end when `ends_with_last`. Returns the blocks.
Result<std::vector<Block>> blocks_of(const std::vector<int>& indices, const Puzzle& puzzle,
                                     const std::string& name, bool ends_with_last) {
  std::vector<int> first_at(puzzle.pieces.size(), -1);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    int k = indices[i];
    if (first_at[std::size_t(k)] >= 0) {
      return Status::failure(name + ": piece " + std::to_string(k) + " appears twice, at positions " +
                             std::to_string(first_at[std::size_t(k)]) + " and " + std::to_string(i) +
                             " (counting from 0)");
    }
    first_at[std::size_t(k)] = int(i);
    Role expected =
        ends_with_last && i + 1 == indices.size() ? Role::last : (i % 2 == 0 ? Role::inp : Role::out);
    Role actual = puzzle.roles[std::size_t(k)];
    if (!puzzle.can_play(k, expected)) {
      return Status::failure(name + ": position " + std::to_string(i) + " needs " + role_layer(expected) +
                             ", but piece " + std::to_string(k) + " is " + role_layer(actual));
    }
  }
  std::vector<Block> blocks;
  for (std::size_t b = 0; b + 1 < indices.size(); b += 2) blocks.push_back({indices[b], indices[b + 1]});
  return blocks;
}

}  // namespace

Result<Assembly> parse_answer(std::string_view text, const Puzzle& puzzle, const std::string& name) {
  auto indices = parse_pieces(text, puzzle, name);
  if (!indices) return indices.status();
  if (indices->size() != puzzle.pieces.size()) {
    return Status::failure(name + ": the answer lists " + std::to_string(indices->size()) +
                           " pieces, the puzzle has " + std::to_string(puzzle.pieces.size()));
  }
  auto blocks = blocks_of(*indices, puzzle, name, true);
  if (!blocks) return blocks.status();
  return Assembly{std::move(*blocks), indices->back()};
}

Result<std::vector<Block>> parse_blocks(std::string_view text, const Puzzle& puzzle,
                                        const std::string& name) {
  auto indices = parse_pieces(text, puzzle, name);
  if (!indices) return indices.status();
  if (indices->size() % 2 != 0) {
    return Status::failure(name +
                           ": expected whole blocks (an inp piece, then its out piece), but this lists " +
                           std::to_string(indices->size()) + (indices->size() == 1 ? " piece" : " pieces"));
  }
  return blocks_of(*indices, puzzle, name, false);
}

Result<std::vector<Block>> read_blocks(const std::string& path, const Puzzle& puzzle) {
  if (path.empty()) return Status::failure("a blocks file needs a name (@FILE)");
  auto bytes = read_file(path, std::uint64_t(16) << 20);
  if (!bytes) return bytes.status();
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return parse_blocks(text.substr(0, text.find('\n')), puzzle, path);
}

}  // namespace humpty
