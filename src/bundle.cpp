// The .humpty format (docs/FORMAT.md), and the other writers of humpty/format.hpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "buffer.hpp"
#include "crc32.hpp"
#include "finite.hpp"
#include "humpty/format.hpp"
#include "io.hpp"
#include "names.hpp"
#include "pth.hpp"
#include "safetensors.hpp"
#include "text.hpp"

namespace humpty {

// What is wrong with a feature name, or "": it must come back from the CSV that humpty writes
// (no comma, quote or line break; not `pred`, `pred_0` or `true`, which name other columns) and be UTF-8
// text without control characters, as docs/FORMAT.md says.
std::string feature_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name == "pred" || name == "pred_0" || name == "true") return "is the name of another column";
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  for (std::size_t i = 0; i < name.size();) {
    const unsigned char c = p[i];
    if (c == ',' || c == '"') return "holds a comma or a quote, which CSV cannot carry unquoted";
    if (c < 0x20 || c == 0x7f) return "holds a control character";
    std::size_t length = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (length == 0 || i + length > name.size()) return "is not UTF-8";
    for (std::size_t k = 1; k < length; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return "is not UTF-8";
    }
    if (c == 0xc2 && p[i + 1] < 0xa0) return "holds a control character";
    i += length;
  }
  return "";
}

Status check_data_columns(const Dataset& data, const std::string& path) {
  for (std::size_t c = 0; c < data.features && c < data.feature_names.size(); ++c) {
    if (std::string problem = feature_name_problem(data.feature_names[c]); !problem.empty()) {
      return Status::failure(path + ": feature name " + std::to_string(c) + " " + quoted(data.feature_names[c]) + ": " +
                             problem);
    }
  }
  if (data.outputs < 1 || data.outputs > (1u << 16) || data.pred.size() != data.rows ||
      data.pred_rest.size() != data.rows * (data.outputs - 1) ||
      (data.has_truth() && data.truth.size() != data.rows) ||
      data.truth_rest.size() != (data.has_truth() ? data.rows * (data.outputs - 1) : 0)) {
    return Status::failure(path + ": the data's " + std::to_string(data.outputs) +
                           " outputs do not match its pred or true columns");
  }
  return Status();
}

namespace {


constexpr std::uint8_t kMagic[8] = {0x89, 'H', 'M', 'P', '\r', '\n', 0x1a, '\n'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderSize = 64;
constexpr std::uint32_t kHasData = 1, kHasTruth = 2;
// Set only when some piece has no bias: every piece record then carries a flags word. Files of
// layers that all have biases stay byte for byte what they were before the flag existed.
constexpr std::uint32_t kPieceFlags = 4;
constexpr std::uint32_t kPieceNoBias = 1;  // in a record's flags word: no bias values follow
// Set only for data of a network with several outputs: the header's word at 56 then holds their
// count, and the data holds a pred column for each (and a true column for each with kHasTruth).
constexpr std::uint32_t kMoreOutputs = 8;
constexpr std::uint32_t kMaxOutputs = 1u << 16;  // (check_data_columns says it too)
constexpr std::uint32_t kMaxPieces = 1u << 16;
constexpr std::uint64_t kMaxDataValues = std::uint64_t(1) << 31;

struct Header {
  std::uint32_t flags = 0, piece_count = 0, feature_count = 0, output_count = 1;
  std::uint64_t row_count = 0, pieces_size = 0, data_size = 0;
  std::uint32_t pieces_crc = 0, data_crc = 0;
};

std::string at(const std::string& name, std::uint64_t offset) {
  return name + ":" + std::to_string(offset) + ": ";
}

Result<Header> parse_header(const std::uint8_t* h, std::uint64_t file_size, const std::string& name) {
  if (file_size < kHeaderSize || std::memcmp(h, kMagic, sizeof kMagic) != 0) {
    return Status::failure(at(name, 0) + "not a .humpty file (bad magic)");
  }
  std::uint32_t version = load_u32le(h + 8);
  if (version != kVersion) {
    return Status::failure(at(name, 8) + "format version " + std::to_string(version) +
                           " is not supported (this humpty reads version 1)");
  }
  if (kVerifyChecksums && crc32c(h, 60) != load_u32le(h + 60))
    return Status::failure(at(name, 60) + "header fails its CRC-32C check");
  Header header;
  header.flags = load_u32le(h + 12);
  header.piece_count = load_u32le(h + 16);
  header.feature_count = load_u32le(h + 20);
  header.row_count = load_u64le(h + 24);
  header.pieces_size = load_u64le(h + 32);
  header.data_size = load_u64le(h + 40);
  header.pieces_crc = load_u32le(h + 48);
  header.data_crc = load_u32le(h + 52);
  if (header.flags & ~(kHasData | kHasTruth | kPieceFlags | kMoreOutputs)) {
    return Status::failure(at(name, 12) + "unknown flags " + std::to_string(header.flags));
  }
  if (header.piece_count < 3 || header.piece_count > kMaxPieces) {
    return Status::failure(at(name, 16) + std::to_string(header.piece_count) + " pieces: expected 3 to " +
                           std::to_string(kMaxPieces));
  }
  const bool has_data = header.flags & kHasData;
  if (!has_data && (header.data_size != 0 || header.row_count != 0 || header.feature_count != 0 ||
                    (header.flags & (kHasTruth | kMoreOutputs)))) {
    return Status::failure(at(name, 12) + "no data section, but data sizes or flags are set");
  }
  if (has_data && (header.row_count == 0 || header.feature_count == 0 ||
                   header.row_count > kMaxDataValues / header.feature_count)) {
    return Status::failure(at(name, 20) + std::to_string(header.row_count) + " rows of " +
                           std::to_string(header.feature_count) + " features: expected 1 to " +
                           std::to_string(kMaxDataValues) + " values");
  }
  if (header.flags & kMoreOutputs) {
    header.output_count = load_u32le(h + 56);
    // pred_0.. and, with bit 1, true_0..: output_count columns each.
    const std::uint64_t columns = std::uint64_t(header.output_count) * ((header.flags & kHasTruth) ? 2 : 1);
    if (header.output_count < 2 || header.output_count > kMaxOutputs ||
        header.row_count > kMaxDataValues / columns) {
      return Status::failure(at(name, 56) + std::to_string(header.output_count) + " outputs of " +
                             std::to_string(header.row_count) + " rows: expected 2 to " +
                             std::to_string(kMaxOutputs) + " outputs and at most " +
                             std::to_string(kMaxDataValues) + " values");
    }
  }
  if (header.pieces_size > file_size - kHeaderSize ||
      header.data_size != file_size - kHeaderSize - header.pieces_size) {
    return Status::failure(at(name, 32) + "sections of " + std::to_string(header.pieces_size) + " and " +
                           std::to_string(header.data_size) + " bytes do not fill the " +
                           std::to_string(file_size) + "-byte file");
  }
  return header;
}

// Reads the pieces section, whose bytes are `section` (pieces_size of them, at file offset 64).
Result<std::vector<Layer>> parse_pieces(const std::uint8_t* section, const Header& header,
                                        const std::string& name) {
  if (kVerifyChecksums && crc32c(section, std::size_t(header.pieces_size)) != header.pieces_crc) {
    return Status::failure(at(name, kHeaderSize) + "pieces section fails its CRC-32C check");
  }
  std::vector<Layer> pieces(header.piece_count);
  const bool flagged = header.flags & kPieceFlags;
  const std::uint64_t record_header = flagged ? 16 : 12;
  std::uint64_t pos = 0;
  for (std::uint32_t k = 0; k < header.piece_count; ++k) {
    const std::uint64_t offset = kHeaderSize + pos;
    if (header.pieces_size - pos < record_header) {
      return Status::failure(at(name, offset) + "piece " + std::to_string(k) +
                             ": record header runs past the section");
    }
    std::uint32_t index = load_u32le(section + pos), rows = load_u32le(section + pos + 4),
                  cols = load_u32le(section + pos + 8),
                  piece_flags = flagged ? load_u32le(section + pos + 12) : 0;
    if (index != k) {
      return Status::failure(at(name, offset) + "piece " + std::to_string(k) + ": index " +
                             std::to_string(index) + ", expected " + std::to_string(k));
    }
    if (rows == 0 || cols == 0 || std::uint64_t(rows) * cols > kMaxLayerElements) {
      return Status::failure(at(name, offset + 4) + "piece " + std::to_string(k) + ": shape " +
                             std::to_string(rows) + "x" + std::to_string(cols) + " is empty or larger than " +
                             std::to_string(kMaxLayerElements) + " elements");
    }
    if (piece_flags & ~kPieceNoBias) {
      return Status::failure(at(name, offset + 12) + "piece " + std::to_string(k) + ": unknown piece flags " +
                             std::to_string(piece_flags));
    }
    const bool has_bias = !(piece_flags & kPieceNoBias);
    std::uint64_t floats = std::uint64_t(rows) * cols + (has_bias ? rows : 0);
    if ((header.pieces_size - pos - record_header) / 4 < floats) {
      return Status::failure(at(name, offset) + "piece " + std::to_string(k) + ": " + std::to_string(rows) +
                             "x" + std::to_string(cols) + (has_bias ? " weights and bias" : " weights") +
                             " run past the section");
    }
    Layer& layer = pieces[k];
    layer.rows = rows;
    layer.cols = cols;
    layer.has_bias = has_bias;
    layer.weight.resize(std::size_t(rows) * cols);
    layer.bias.assign(rows, 0.0f);
    const std::uint8_t* values = section + pos + record_header;
    const std::uint64_t values_offset = offset + record_header;
    std::memcpy(layer.weight.data(), values, layer.weight.size() * 4);
    if (has_bias) std::memcpy(layer.bias.data(), values + layer.weight.size() * 4, layer.bias.size() * 4);
    if (std::size_t i = first_non_finite(layer.weight); i < layer.weight.size()) {
      return Status::failure(at(name, values_offset + 4 * i) + "piece " + std::to_string(k) + ": " +
                             describe_non_finite(layer.weight, cols, {}) + ": layer values must be finite");
    }
    if (std::size_t i = first_non_finite(layer.bias); i < layer.bias.size()) {
      return Status::failure(at(name, values_offset + 4 * (layer.weight.size() + i)) + "piece " +
                             std::to_string(k) + ": " + describe_non_finite({}, cols, layer.bias) +
                             ": layer values must be finite");
    }
    pos += record_header + floats * 4;
  }
  if (pos != header.pieces_size) {
    return Status::failure(at(name, kHeaderSize + pos) + std::to_string(header.pieces_size - pos) +
                           " bytes left over after the last piece");
  }
  return pieces;
}

Status parse_data(const std::uint8_t* section, const Header& header, std::uint64_t section_offset,
                  const std::string& name, Dataset& data) {
  if (kVerifyChecksums && crc32c(section, std::size_t(header.data_size)) != header.data_crc) {
    return Status::failure(at(name, section_offset) + "data section fails its CRC-32C check");
  }
  std::uint64_t pos = 0;
  if (header.feature_count > header.data_size / 2) {  // every name takes at least its length field
    return Status::failure(at(name, section_offset) + std::to_string(header.feature_count) +
                           " feature names cannot fit in a data section of " +
                           std::to_string(header.data_size) + " bytes");
  }
  data.feature_names.reserve(header.feature_count);
  for (std::uint32_t c = 0; c < header.feature_count; ++c) {
    if (header.data_size - pos < 2 || header.data_size - pos - 2 < load_u16le(section + pos)) {
      return Status::failure(at(name, section_offset + pos) + "feature name " + std::to_string(c) +
                             " runs past the section");
    }
    std::size_t length = load_u16le(section + pos);
    data.feature_names.emplace_back(reinterpret_cast<const char*>(section + pos + 2), length);
    if (std::string problem = feature_name_problem(data.feature_names.back()); !problem.empty()) {
      return Status::failure(at(name, section_offset + pos + 2) + "feature name " + std::to_string(c) + " " +
                             quoted(data.feature_names.back()) + ": " + problem);
    }
    pos += 2 + length;
  }
  pos = (pos + 3) / 4 * 4;
  const std::uint64_t rows = header.row_count, values = rows * header.feature_count;
  const bool has_truth = header.flags & kHasTruth;
  const std::uint64_t outputs = header.output_count;
  const std::uint64_t needed = values * 4 + rows * 8 * outputs * (has_truth ? 2 : 1);
  if (pos > header.data_size || header.data_size - pos != needed) {
    return Status::failure(
        at(name, section_offset + std::min(pos, header.data_size)) + "expected " + std::to_string(needed) +
        " bytes of values for " + std::to_string(rows) + " rows of " + std::to_string(header.feature_count) +
        " features, the section has " + std::to_string(pos > header.data_size ? 0 : header.data_size - pos));
  }
  data.source = name;
  data.rows = std::size_t(rows);
  data.features = header.feature_count;
  data.x.resize(std::size_t(values));
  data.pred.resize(std::size_t(rows));
  std::memcpy(data.x.data(), section + pos, data.x.size() * 4);
  std::memcpy(data.pred.data(), section + pos + values * 4, data.pred.size() * 8);
  data.outputs = std::size_t(outputs);
  if (outputs > 1) {  // (memcpy into an empty vector's null data() would be undefined, even for 0 bytes)
    data.pred_rest.resize(std::size_t(rows * (outputs - 1)));
    std::memcpy(data.pred_rest.data(), section + pos + values * 4 + rows * 8, data.pred_rest.size() * 8);
  }
  if (has_truth) {  // true_0, then true_1 .., after every pred column
    const std::uint8_t* targets = section + pos + values * 4 + rows * 8 * outputs;
    data.truth.resize(std::size_t(rows));
    std::memcpy(data.truth.data(), targets, data.truth.size() * 8);
    if (outputs > 1) {
      data.truth_rest.resize(std::size_t(rows * (outputs - 1)));
      std::memcpy(data.truth_rest.data(), targets + rows * 8, data.truth_rest.size() * 8);
    }
  }
  for (std::size_t i = 0; i < data.x.size(); ++i) {
    if (!std::isfinite(data.x[i])) {
      return Status::failure(at(name, section_offset + pos + i * 4) + "feature value of row " +
                             std::to_string(i / data.features) + " is not finite");
    }
  }
  // pred, the other outputs' columns, true, the other outputs' targets: each `rows` values long.
  const std::vector<double>* columns[] = {&data.pred, &data.pred_rest, &data.truth, &data.truth_rest};
  for (const auto* column : columns) {
    const std::uint64_t first = pos + values * 4 +
                                (column == &data.pred        ? 0
                                 : column == &data.pred_rest ? rows * 8
                                 : column == &data.truth     ? rows * 8 * outputs
                                                             : rows * 8 * (outputs + 1));
    for (std::size_t i = 0; i < column->size(); ++i) {
      if (!std::isfinite((*column)[i])) {
        const bool several = outputs > 1, target = column == &data.truth || column == &data.truth_rest;
        const std::size_t output = column == &data.pred || column == &data.truth ? 0 : i / rows + 1;
        const std::string what =
            std::string(target ? "true" : "pred") + (several ? "_" + std::to_string(output) : "");
        return Status::failure(at(name, section_offset + first + 8 * i) + what + " of row " +
                               std::to_string(i % rows) + " is not finite");
      }
    }
  }
  return Status();
}

// Reads exactly `size` bytes at `offset`.
Status read_range(int fd, std::uint64_t offset, std::uint8_t* out, std::uint64_t size,
                  const std::string& name) {
  std::uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, std::size_t(size - done), off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::failure(at(name, offset + done) + "read failed" + (n == 0 ? ": file shrank" : ""));
    done += std::uint64_t(n);
  }
  return Status();
}

// The pieces and (when wanted and present) the data, from bytes that start with the header.
Result<Bundle> decode(const std::uint8_t* bytes, const Header& header, BundleParts parts,
                      const std::string& name) {
  auto pieces = parse_pieces(bytes + kHeaderSize, header, name);
  if (!pieces) return pieces.status();
  auto puzzle = make_puzzle(std::move(*pieces), name);
  if (!puzzle) return puzzle.status();
  Bundle bundle;
  bundle.puzzle = std::move(*puzzle);
  if (parts == BundleParts::all && (header.flags & kHasData)) {
    const std::uint64_t offset = kHeaderSize + header.pieces_size;
    if (auto status = parse_data(bytes + offset, header, offset, name, bundle.data); !status) return status;
    bundle.has_data = true;
  }
  return bundle;
}

}  // namespace

Result<Bundle> parse_bundle(const std::uint8_t* bytes, std::size_t size, const std::string& name,
                            BundleParts parts) {
  auto header = parse_header(bytes, size, name);
  if (!header) return header.status();
  return decode(bytes, *header, parts, name);
}

Result<Bundle> read_bundle(const std::string& path, BundleParts parts) {
  auto opened = open_regular_file(path);
  if (!opened) return opened.status();
  const int fd = *opened;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    return Status::failure(path + ": cannot read: not a regular file");
  }
  const std::uint64_t file_size = std::uint64_t(info.st_size);
  // The same cap as the .pth and CSV readers: section lengths are checked against the file's
  // real size below, and the file's size against this, so nothing is allocated from a claim.
  if (file_size > kMaxFileBytes) {
    return Status::failure(path + ": file of " + std::to_string(file_size) + " bytes is larger than the limit of " +
                           std::to_string(kMaxFileBytes) + " bytes; likely not a humpty input");
  }
  std::uint8_t head[kHeaderSize] = {};
  if (file_size < kHeaderSize) return Status::failure(at(path, 0) + "not a .humpty file (bad magic)");
  if (auto status = read_range(fd, 0, head, kHeaderSize, path); !status) return status;
  auto header = parse_header(head, file_size, path);
  if (!header) return header.status();
  // Only the sections needed are read: a pieces-only read never touches the data.
  std::uint64_t wanted =
      kHeaderSize + header->pieces_size + (parts == BundleParts::all ? header->data_size : 0);
  // Unset, not zeroed: read_range fills every byte or the read fails.
  std::vector<std::uint8_t, UnsetAllocator<std::uint8_t>> bytes(static_cast<std::size_t>(wanted));
  std::memcpy(bytes.data(), head, kHeaderSize);
  if (auto status = read_range(fd, kHeaderSize, bytes.data() + kHeaderSize, wanted - kHeaderSize, path);
      !status) {
    return status;
  }
  return decode(bytes.data(), *header, parts, path);
}

Status write_text_file(const std::string& path, const std::string& text) {
  return write_file_atomic(path, text);
}

bool is_bundle(const std::string& path) {
  auto opened = open_regular_file(path);
  if (!opened) return false;
  const int fd = *opened;
  std::uint8_t head[sizeof kMagic] = {};
  bool match =
      ::read(fd, head, sizeof head) == ssize_t(sizeof head) && std::memcmp(head, kMagic, sizeof kMagic) == 0;
  ::close(fd);
  return match;
}

std::vector<std::uint8_t> encode_bundle(const std::vector<Layer>& pieces, const Dataset* data) {
  const bool flagged =
      std::any_of(pieces.begin(), pieces.end(), [](const Layer& layer) { return !layer.has_bias; });
  ByteWriter section;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const Layer& layer = pieces[k];
    section.u32(std::uint32_t(k));
    section.u32(std::uint32_t(layer.rows));
    section.u32(std::uint32_t(layer.cols));
    if (flagged) section.u32(layer.has_bias ? 0 : kPieceNoBias);
    for (float w : layer.weight) section.f32(w);
    if (layer.has_bias) {
      for (float b : layer.bias) section.f32(b);
    }
  }
  ByteWriter data_section;
  if (data) {
    for (std::size_t c = 0; c < data->features; ++c) {
      std::string name = c < data->feature_names.size() ? data->feature_names[c] : "x" + std::to_string(c);
      if (name.size() > 65535) name.resize(65535);
      data_section.u16(std::uint16_t(name.size()));
      data_section.text(name);
    }
    while (data_section.size() % 4 != 0) data_section.u8(0);
    for (float x : data->x) data_section.f32(x);
    auto put_f64 = [&](double v) {
      std::uint64_t bits;
      std::memcpy(&bits, &v, 8);
      data_section.u64(bits);
    };
    for (double p : data->pred) put_f64(p);
    for (double p : data->pred_rest) put_f64(p);
    for (double t : data->truth) put_f64(t);
    for (double t : data->truth_rest) put_f64(t);
  }
  ByteWriter file;
  file.raw(kMagic, sizeof kMagic);
  file.u32(kVersion);
  const bool more_outputs = data && data->outputs > 1;
  file.u32((data ? kHasData : 0) | (data && data->has_truth() ? kHasTruth : 0) | (flagged ? kPieceFlags : 0) |
           (more_outputs ? kMoreOutputs : 0));
  file.u32(std::uint32_t(pieces.size()));
  file.u32(data ? std::uint32_t(data->features) : 0);
  file.u64(data ? data->rows : 0);
  file.u64(section.size());
  file.u64(data_section.size());
  file.u32(crc32c(section.bytes().data(), section.size()));
  file.u32(data ? crc32c(data_section.bytes().data(), data_section.size()) : 0);
  file.u32(more_outputs ? std::uint32_t(data->outputs) : 0);
  file.u32(crc32c(file.bytes().data(), 60));
  file.raw(section.bytes().data(), section.size());
  file.raw(data_section.bytes().data(), data_section.size());
  return std::move(file.bytes());
}

Status write_bundle(const std::string& path, const std::vector<Layer>& pieces, const Dataset* data) {
  if (data) {
    if (Status status = check_data_columns(*data, path); !status) return status;
  }
  auto bytes = encode_bundle(pieces, data);
  return write_file_atomic(path, bytes.data(), bytes.size());
}

Status write_pieces_directory(const std::string& directory, const std::vector<Layer>& pieces,
                              PieceFormat format) {
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::failure(directory + ": cannot create directory: " + std::strerror(errno));
  }
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    std::string stem = "piece_" + std::to_string(k);
    const bool pth = format == PieceFormat::pth;
    auto bytes = pth ? write_pth(pieces[k], "archive") : write_safetensors(pieces[k]);
    if (auto status = write_file_atomic(directory + "/" + stem + (pth ? ".pth" : ".safetensors"),
                                        bytes.data(), bytes.size());
        !status) {
      return status;
    }
  }
  return Status();
}

}  // namespace humpty
