#include "zip.hpp"
#include "text.hpp"

#include <cstdio>
#include <unordered_set>

#include "crc32.hpp"
#include "io.hpp"

namespace humpty {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndRecord = 0x06054b50;
constexpr std::uint32_t kZip64EndRecord = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;

std::string at(const std::string& name, std::uint64_t offset) {
  return name + ":" + std::to_string(offset) + ": ";
}

const char* method_name(std::uint16_t method) {
  switch (method) {
    case 1:
      return "shrink";
    case 6:
      return "implode";
    case 8:
      return "deflate";
    case 9:
      return "deflate64";
    case 12:
      return "bzip2";
    case 14:
      return "lzma";
    case 93:
      return "zstd";
    case 95:
      return "xz";
    default:
      return "unknown";
  }
}

struct EndRecord {
  std::uint64_t entries = 0;
  std::uint64_t directory_size = 0;
  std::uint64_t directory_offset = 0;
};

Result<EndRecord> find_end_record(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (size < kEndRecordSize) {
    return Status::failure(at(name, 0) + "not a ZIP archive: " + std::to_string(size) +
                           " bytes is too short for an end record");
  }
  // The end record sits at the very end, followed only by a comment of at most 65535 bytes.
  std::size_t lowest = size > kEndRecordSize + 65535 ? size - kEndRecordSize - 65535 : 0;
  for (std::size_t pos = size - kEndRecordSize + 1; pos-- > lowest;) {
    if (load_u32le(data + pos) != kEndRecord) continue;
    if (pos + kEndRecordSize + load_u16le(data + pos + 20) != size) continue;
    const std::uint8_t* e = data + pos;
    if (load_u16le(e + 4) != 0 || load_u16le(e + 6) != 0) {
      return Status::failure(at(name, pos) + "split ZIP archives are not supported");
    }
    EndRecord end{load_u16le(e + 10), load_u32le(e + 12), load_u32le(e + 16)};
    // A ZIP64 locator right before the end record points to the 64-bit version of it.
    if (pos >= 20 && load_u32le(data + pos - 20) == kZip64Locator) {
      std::uint64_t record = load_u64le(data + pos - 20 + 8);
      if (record > pos - 20 || pos - 20 - record < 56 || load_u32le(data + record) != kZip64EndRecord) {
        return Status::failure(at(name, pos - 20) + "ZIP64 locator points to offset " +
                               std::to_string(record) + ", where there is no ZIP64 end record");
      }
      const std::uint8_t* z = data + record;
      if (load_u32le(z + 16) != 0 || load_u32le(z + 20) != 0) {
        return Status::failure(at(name, record) + "split ZIP archives are not supported");
      }
      end = EndRecord{load_u64le(z + 32), load_u64le(z + 40), load_u64le(z + 48)};
    }
    return end;
  }
  return Status::failure(at(name, size) + "not a ZIP archive: no end-of-central-directory record");
}

}  // namespace

const ZipEntry* ZipArchive::find(std::string_view name) const {
  for (const auto& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Result<ZipArchive> read_zip(const std::uint8_t* data, std::size_t size, const std::string& name) {
  auto end = find_end_record(data, size, name);
  if (!end) return end.status();
  if (end->entries > kMaxZipEntries) {
    return Status::failure(at(name, 0) + "ZIP archive claims " + std::to_string(end->entries) +
                           " entries, more than the limit of " + std::to_string(kMaxZipEntries) +
                           "; likely malformed");
  }
  if (end->directory_offset > size || end->directory_size > size - end->directory_offset) {
    return Status::failure(at(name, end->directory_offset) + "central directory of " +
                           std::to_string(end->directory_size) + " bytes at offset " +
                           std::to_string(end->directory_offset) + " lies outside the " +
                           std::to_string(size) + "-byte file");
  }
  ZipArchive archive;
  archive.entries.reserve(std::size_t(end->entries));
  std::unordered_set<std::string> seen;
  std::uint64_t pos = end->directory_offset;
  const std::uint64_t directory_end = end->directory_offset + end->directory_size;
  for (std::uint64_t i = 0; i < end->entries; ++i) {
    if (directory_end - pos < kCentralHeaderSize || load_u32le(data + pos) != kCentralHeader) {
      return Status::failure(at(name, pos) + "expected central directory entry " + std::to_string(i + 1) +
                             " of " + std::to_string(end->entries));
    }
    const std::uint8_t* c = data + pos;
    std::uint16_t flags = load_u16le(c + 8);
    std::uint16_t method = load_u16le(c + 10);
    std::uint32_t crc = load_u32le(c + 16);
    std::uint64_t packed_size = load_u32le(c + 20);
    std::uint64_t unpacked_size = load_u32le(c + 24);
    std::size_t name_length = load_u16le(c + 28);
    std::size_t extra_length = load_u16le(c + 30);
    std::size_t comment_length = load_u16le(c + 32);
    std::uint64_t local_offset = load_u32le(c + 42);
    if (directory_end - pos - kCentralHeaderSize < name_length + extra_length + comment_length) {
      return Status::failure(at(name, pos) + "central directory entry runs past its end");
    }
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralHeaderSize), name_length);
    // ZIP64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
    const std::uint8_t* extra = c + kCentralHeaderSize + name_length;
    for (std::size_t e = 0; e + 4 <= extra_length;) {
      std::uint16_t id = load_u16le(extra + e), length = load_u16le(extra + e + 2);
      if (e + 4 + length > extra_length) break;
      if (id == 0x0001) {
        const std::uint8_t* field = extra + e + 4;
        std::size_t left = length;
        for (std::uint64_t* value : {&unpacked_size, &packed_size, &local_offset}) {
          if (*value != 0xFFFFFFFFu) continue;
          if (left < 8) {
            return Status::failure(at(name, pos) + "entry " + quoted(entry.name) + ": ZIP64 extra field too short");
          }
          *value = load_u64le(field);
          field += 8;
          left -= 8;
        }
      }
      e += 4 + std::size_t(length);
    }
    if (flags & 1) {
      return Status::failure(at(name, pos) + "entry " + quoted(entry.name) + " is encrypted");
    }
    if (method == 0 && packed_size != unpacked_size) {
      return Status::failure(at(name, pos) + "stored entry " + quoted(entry.name) + " has packed size " +
                             std::to_string(packed_size) + " but unpacked size " +
                             std::to_string(unpacked_size));
    }
    if (local_offset > size || size - local_offset < kLocalHeaderSize ||
        load_u32le(data + local_offset) != kLocalHeader) {
      return Status::failure(at(name, local_offset) + "entry " + quoted(entry.name) +
                             ": expected a local file header");
    }
    std::uint64_t data_offset = local_offset + kLocalHeaderSize + load_u16le(data + local_offset + 26) +
                                load_u16le(data + local_offset + 28);
    if (data_offset > size || packed_size > size - data_offset) {
      return Status::failure(at(name, local_offset) + "entry " + quoted(entry.name) + " of " +
                             std::to_string(packed_size) + " bytes runs past the end of the file");
    }
    if (!seen.insert(entry.name).second) {
      return Status::failure(at(name, pos) + "duplicate entry " + quoted(entry.name) + "");
    }
    entry.data_offset = data_offset;
    entry.size = unpacked_size;
    entry.crc32 = crc;
    entry.method = method;
    entry.directory_offset = pos;
    archive.entries.push_back(std::move(entry));
    pos += kCentralHeaderSize + name_length + extra_length + comment_length;
  }
  return archive;
}

Status require_stored(const ZipEntry& entry, const std::string& name) {
  if (entry.method == 0) return Status();
  return Status::failure(at(name, entry.directory_offset) + "entry " + quoted(entry.name) +
                         " uses compression method " + std::to_string(entry.method) + " (" +
                         method_name(entry.method) + "); only stored entries are supported");
}

Status check_zip_crc(const std::uint8_t* data, const ZipEntry& entry, const std::string& name) {
  if (Status stored = require_stored(entry, name); !stored) return stored;
  std::uint32_t actual = crc32(data + entry.data_offset, std::size_t(entry.size));
  if (kVerifyChecksums && actual != entry.crc32) {
    char text[64];
    std::snprintf(text, sizeof text, "expected %08x, got %08x", entry.crc32, actual);
    return Status::failure(at(name, entry.data_offset) + "entry " + quoted(entry.name) +
                           " fails its CRC-32 check: " + text);
  }
  return Status();
}

std::vector<std::uint8_t> write_zip(const std::vector<ZipFile>& files) {
  constexpr std::size_t kAlignment = 64;
  ByteWriter out;
  std::vector<std::uint64_t> local_offsets;
  std::vector<std::uint32_t> crcs;
  for (const auto& file : files) {
    local_offsets.push_back(out.size());
    crcs.push_back(crc32(file.bytes.data(), file.bytes.size()));
    // Pad with an extra field (id "FB", as PyTorch does) so that the data starts aligned.
    std::size_t header_end = out.size() + kLocalHeaderSize + file.name.size();
    std::size_t padding = (kAlignment - (header_end + 4) % kAlignment) % kAlignment;
    out.u32(kLocalHeader);
    out.u16(20);      // version needed: 2.0
    out.u16(0x0800);  // flags: UTF-8 names
    out.u16(0);       // method: stored
    out.u16(0);       // time
    out.u16(0x21);    // date: 1980-01-01
    out.u32(crcs.back());
    out.u32(std::uint32_t(file.bytes.size()));
    out.u32(std::uint32_t(file.bytes.size()));
    out.u16(std::uint16_t(file.name.size()));
    out.u16(std::uint16_t(4 + padding));
    out.text(file.name);
    out.u16(0x4246);  // "FB"
    out.u16(std::uint16_t(padding));
    for (std::size_t i = 0; i < padding; ++i) out.u8('Z');
    out.raw(file.bytes.data(), file.bytes.size());
  }
  std::uint64_t directory_offset = out.size();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    out.u32(kCentralHeader);
    out.u16(0x031e);  // made by: Unix, 3.0
    out.u16(20);
    out.u16(0x0800);
    out.u16(0);
    out.u16(0);
    out.u16(0x21);
    out.u32(crcs[i]);
    out.u32(std::uint32_t(file.bytes.size()));
    out.u32(std::uint32_t(file.bytes.size()));
    out.u16(std::uint16_t(file.name.size()));
    out.u16(0);               // extra
    out.u16(0);               // comment
    out.u16(0);               // disk
    out.u16(0);               // internal attributes
    out.u32(0100644u << 16);  // external attributes: regular file, rw-r--r--
    out.u32(std::uint32_t(local_offsets[i]));
    out.text(file.name);
  }
  std::uint64_t directory_size = out.size() - directory_offset;
  std::uint64_t zip64_end = out.size();
  out.u32(kZip64EndRecord);
  out.u64(44);  // size of the rest of this record
  out.u16(0x031e);
  out.u16(45);
  out.u32(0);
  out.u32(0);
  out.u64(files.size());
  out.u64(files.size());
  out.u64(directory_size);
  out.u64(directory_offset);
  out.u32(kZip64Locator);
  out.u32(0);
  out.u64(zip64_end);
  out.u32(1);
  out.u32(kEndRecord);
  out.u16(0);
  out.u16(0);
  out.u16(std::uint16_t(files.size()));
  out.u16(std::uint16_t(files.size()));
  out.u32(std::uint32_t(directory_size));
  out.u32(std::uint32_t(directory_offset));
  out.u16(0);
  return std::move(out.bytes());
}

}  // namespace humpty
