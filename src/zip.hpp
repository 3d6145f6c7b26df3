// zip.hpp - the ZIP container of PyTorch's .pth files: stored (uncompressed) entries are read;
// compressed ones (TorchScript's source code) are listed, never read.
//
// PyTorch writes local headers with zero sizes and a data descriptor after the data, so entries
// are found through the central directory, never by walking local headers. ZIP64 end records are
// understood (PyTorch always writes them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "humpty/result.hpp"

namespace humpty {

struct ZipEntry {
  std::string name;
  std::uint64_t data_offset = 0;  // where the entry's bytes start in the archive
  std::uint64_t size = 0;         // unpacked
  std::uint32_t crc32 = 0;
  std::uint16_t method = 0;            // 0: stored; anything else is listed but never read (require_stored)
  std::uint64_t directory_offset = 0;  // of its central directory record, for messages
};

struct ZipArchive {
  std::vector<ZipEntry> entries;  // in central-directory order
  const ZipEntry* find(std::string_view name) const;
};

// Archives with more entries than this are rejected as likely malformed.
constexpr std::uint64_t kMaxZipEntries = 1u << 20;

// Lists the entries of an archive held in memory, checking every record against the bytes there
// are. Rejects encrypted entries, split archives and duplicate names. Compressed entries are
// listed (a TorchScript archive deflates its source code, which a reader of weights never needs)
// and refused by require_stored when a reader needs their bytes. `name` is the
// archive's path, used in messages ("name:offset: what").
Result<ZipArchive> read_zip(const std::uint8_t* data, std::size_t size, const std::string& name);

// Whether an entry's bytes can be read as they lie: a compressed one is refused by name.
Status require_stored(const ZipEntry& entry, const std::string& name);

// Checks an entry's bytes against the CRC-32 the central directory records for it.
Status check_zip_crc(const std::uint8_t* data, const ZipEntry& entry, const std::string& name);

// One file to put in an archive.
struct ZipFile {
  std::string name;
  std::vector<std::uint8_t> bytes;
};

// Writes an archive of stored entries the way PyTorch does: each entry's data aligned to 64 bytes
// (padding in a local-header extra field), then the central directory and ZIP64 end records.
std::vector<std::uint8_t> write_zip(const std::vector<ZipFile>& files);

}  // namespace humpty
