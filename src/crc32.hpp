// crc32.hpp - CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP stores it per entry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace humpty {

// Continues a CRC-32 over more bytes; start with crc = 0.
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size);
inline std::uint32_t crc32(const void* data, std::size_t size) {
  return crc32_update(0, data, size);
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the .humpty format:
// x86-64 computes it in hardware (SSE4.2), eight bytes per instruction, which is what makes a
// checked .humpty load many times faster than a directory of .pth files. Start with crc = 0.
std::uint32_t crc32c_update(std::uint32_t crc, const void* data, std::size_t size);
inline std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_update(0, data, size);
}

// The table-driven CRC-32C that machines without SSE4.2 run (the tests compare the two).
std::uint32_t crc32c_portable_update(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace humpty
