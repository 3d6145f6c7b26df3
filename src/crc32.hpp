// crc32.hpp - CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP stores it per entry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace humpty {

// Continues a CRC-32 over more bytes; start with crc = 0.
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size);
inline std::uint32_t crc32(const void* data, std::size_t size) { return crc32_update(0, data, size); }

}  // namespace humpty
