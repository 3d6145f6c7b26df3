// io.hpp - whole-file reads, atomic writes and little-endian loads, shared by every reader.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "humpty/result.hpp"

namespace humpty {

// Fuzzing builds (-DHUMPTY_FUZZING, see `make fuzz`) accept wrong checksums, so that the fuzzer
// reaches the parsers behind them instead of stopping at every CRC.
#ifdef HUMPTY_FUZZING
constexpr bool kVerifyChecksums = false;
#else
constexpr bool kVerifyChecksums = true;
#endif

// Files larger than this are rejected as likely malformed before anything is allocated.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t(4) << 30;

// A whole file's bytes (not zeroed before the read fills them: data files run to megabytes).
using FileBytes = std::vector<std::uint8_t, UnsetAllocator<std::uint8_t>>;

// Reads a whole regular file of at most `limit` bytes. Errors: "path: cannot open: No such file
// or directory", "path: cannot read: a named pipe (FIFO), not a regular file", ...
Result<FileBytes> read_file(const std::string& path, std::uint64_t limit = kMaxFileBytes);

// Opens a regular file for reading without blocking on FIFOs or devices; the caller closes it.
Result<int> open_regular_file(const std::string& path);

// Writes a file so that it is either complete or absent: the bytes go to a temporary file in the
// same directory, which is flushed to disk and then renamed over `path`.
Status write_file_atomic(const std::string& path, const void* data, std::size_t size);
inline Status write_file_atomic(const std::string& path, const std::string& text) {
  return write_file_atomic(path, text.data(), text.size());
}

inline std::uint16_t load_u16le(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32le(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
         (std::uint32_t(p[3]) << 24);
}
inline std::uint64_t load_u64le(const std::uint8_t* p) {
  return std::uint64_t(load_u32le(p)) | (std::uint64_t(load_u32le(p + 4)) << 32);
}
inline void store_u16le(std::uint8_t* p, std::uint16_t v) {
  p[0] = std::uint8_t(v);
  p[1] = std::uint8_t(v >> 8);
}
inline void store_u32le(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
inline void store_u64le(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}

// Appends little-endian values to a byte buffer; the writers' counterpart of the loads above.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) { put(&v, 2, store_u16le); }
  void u32(std::uint32_t v) { put(&v, 4, store_u32le); }
  void u64(std::uint64_t v) { put(&v, 8, store_u64le); }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u32(bits);
  }
  void raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  void text(const std::string& s) { raw(s.data(), s.size()); }
  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  template <typename T, typename Store>
  void put(const T* v, std::size_t n, Store store) {
    std::size_t at = bytes_.size();
    bytes_.resize(at + n);
    store(bytes_.data() + at, *v);
  }
  std::vector<std::uint8_t> bytes_;
};

}  // namespace humpty
