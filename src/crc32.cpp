#include "crc32.hpp"

#include <array>
#include <cstring>

namespace humpty {
namespace {

// Slicing-by-8 tables for a reflected polynomial: every byte of every piece is checked, so this runs over
// megabytes; eight table lookups per 64-bit word are several times faster than one lookup per byte.
struct Crc32Tables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  constexpr explicit Crc32Tables(std::uint32_t polynomial) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? polynomial ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};
constexpr Crc32Tables kIeee(0xEDB88320u);
constexpr Crc32Tables kCastagnoli(0x82F63B78u);

std::uint32_t crc_update(const Crc32Tables& tables, std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  const auto& t = tables.t;
  crc = ~crc;
  while (size >= 8) {
    std::uint32_t low = crc ^ (std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) |
                               (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24));
    std::uint32_t high = std::uint32_t(p[4]) | (std::uint32_t(p[5]) << 8) | (std::uint32_t(p[6]) << 16) |
                         (std::uint32_t(p[7]) << 24);
    crc = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^ t[4][low >> 24] ^
          t[3][high & 0xFF] ^ t[2][(high >> 8) & 0xFF] ^ t[1][(high >> 16) & 0xFF] ^ t[0][high >> 24];
    p += 8;
    size -= 8;
  }
  while (size-- > 0) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HUMPTY_HAVE_CRC32C_INSTRUCTION 1
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::uint32_t crc, const void* data,
                                                                std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint64_t c = ~crc;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    size -= 8;
  }
  auto c32 = std::uint32_t(c);
  while (size-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}

bool have_crc32c_instruction() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size) {
  return crc_update(kIeee, crc, data, size);
}

std::uint32_t crc32c_update(std::uint32_t crc, const void* data, std::size_t size) {
#ifdef HUMPTY_HAVE_CRC32C_INSTRUCTION
  static const bool hardware = have_crc32c_instruction();
  if (hardware) return crc32c_hardware(crc, data, size);
#endif
  return crc_update(kCastagnoli, crc, data, size);
}

}  // namespace humpty
