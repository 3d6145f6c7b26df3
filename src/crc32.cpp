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

// Only the three-stream hardware CRC needs it: kept inside the x86 block, or builds for other
// machines (arm64) would warn, and fail under -Werror, that it is unused.
// The CRC of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine: appending
// len zero bits is a linear map, applied by repeated squaring of a 32 x 32 bit matrix).
std::uint32_t gf2_times(const std::uint32_t* matrix, std::uint32_t vector) {
  std::uint32_t sum = 0;
  for (; vector; vector >>= 1, ++matrix) {
    if (vector & 1) sum ^= *matrix;
  }
  return sum;
}

void gf2_square(std::uint32_t* square, const std::uint32_t* matrix) {
  for (int n = 0; n < 32; ++n) square[n] = gf2_times(matrix, matrix[n]);
}

std::uint32_t crc_combine(std::uint32_t polynomial, std::uint32_t crc1, std::uint32_t crc2,
                          std::size_t length2) {
  if (length2 == 0) return crc1;
  std::uint32_t even[32], odd[32];
  odd[0] = polynomial;  // the operator for one zero bit
  for (int n = 1; n < 32; ++n) odd[n] = std::uint32_t(1) << (n - 1);
  gf2_square(even, odd);  // two zero bits
  gf2_square(odd, even);  // four zero bits
  do {
    gf2_square(even, odd);
    if (length2 & 1) crc1 = gf2_times(even, crc1);
    length2 >>= 1;
    if (length2 == 0) break;
    gf2_square(odd, even);
    if (length2 & 1) crc1 = gf2_times(odd, crc1);
    length2 >>= 1;
  } while (length2 != 0);
  return crc1 ^ crc2;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_stream(std::uint32_t crc, const std::uint8_t* p,
                                                              std::size_t size) {
  std::uint64_t c = ~crc;
  for (; size >= 8; p += 8, size -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  auto c32 = std::uint32_t(c);
  while (size-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}

// The crc32 instruction has a latency of three cycles but can start one per cycle: three
// independent streams over three thirds of a large buffer run three times faster, and
// crc_combine joins them.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::uint32_t crc, const void* data,
                                                                std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  if (size < 8192) return crc32c_stream(crc, p, size);
  const std::size_t third = size / 24 * 8;
  const std::uint8_t *a = p, *b = p + third, *c = p + 2 * third;
  std::uint64_t ca = ~crc, cb = ~std::uint32_t(0), cc = ~std::uint32_t(0);
  for (std::size_t i = 0; i < third; i += 8) {
    std::uint64_t wa, wb, wc;
    std::memcpy(&wa, a + i, 8);
    std::memcpy(&wb, b + i, 8);
    std::memcpy(&wc, c + i, 8);
    ca = __builtin_ia32_crc32di(ca, wa);
    cb = __builtin_ia32_crc32di(cb, wb);
    cc = __builtin_ia32_crc32di(cc, wc);
  }
  std::uint32_t crc_ab = crc_combine(0x82F63B78u, ~std::uint32_t(ca), ~std::uint32_t(cb), third);
  std::uint32_t crc_abc = crc_combine(0x82F63B78u, crc_ab, ~std::uint32_t(cc), third);
  return crc32c_stream(crc_abc, p + 3 * third, size - 3 * third);
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
  return crc32c_portable_update(crc, data, size);
}

std::uint32_t crc32c_portable_update(std::uint32_t crc, const void* data, std::size_t size) {
  return crc_update(kCastagnoli, crc, data, size);
}

}  // namespace humpty
