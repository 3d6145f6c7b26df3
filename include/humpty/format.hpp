// humpty/format.hpp - files humpty writes: its own one-file format (.humpty, see docs/FORMAT.md),
// directories of .pth or .safetensors pieces that PyTorch reads, and CSV. Every writer writes
// atomically (a temporary file renamed into place): a file is complete or absent, never
// half-written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "humpty/model.hpp"
#include "humpty/result.hpp"

namespace humpty {

// A whole puzzle in one file: the pieces and, optionally, data.
struct Bundle {
  Puzzle puzzle;
  bool has_data = false;
  Dataset data;
};

enum class BundleParts {
  pieces,  // read and check the header and the pieces only
  all,     // also the data, when the file has any
};

// Reads a .humpty file, checking everything docs/FORMAT.md lists before allocating.
// Errors read "path:offset: what".
Result<Bundle> read_bundle(const std::string& path, BundleParts parts = BundleParts::all);
Result<Bundle> parse_bundle(const std::uint8_t* bytes, std::size_t size, const std::string& name,
                            BundleParts parts = BundleParts::all);

// The bytes of a .humpty file of these pieces (in index order) and, when data is not null, data.
std::vector<std::uint8_t> encode_bundle(const std::vector<Layer>& pieces, const Dataset* data);
Status write_bundle(const std::string& path, const std::vector<Layer>& pieces, const Dataset* data);

// Writes text to a file atomically.
Status write_text_file(const std::string& path, const std::string& text);

// True when the file starts with the .humpty magic.
bool is_bundle(const std::string& path);

enum class PieceFormat {
  pth,          // piece_<k>.pth, as torch.save writes a Linear state dict
  safetensors,  // piece_<k>.safetensors, as safetensors.torch.save_file writes it
};

// Writes a file for every piece into `directory` (created if missing), each atomically.
Status write_pieces_directory(const std::string& directory, const std::vector<Layer>& pieces,
                              PieceFormat format = PieceFormat::pth);

// Writes data as CSV: the feature columns, pred, and true when there is one, each number as the
// shortest string that reads back as the same value (features as float32, pred and true as
// double), so that CSV -> read_csv round-trips exactly.
Status write_csv(const std::string& path, const Dataset& data);

}  // namespace humpty
