#include "catch.hpp"
#include "crc32.hpp"
#include "humpty/model.hpp"
#include "io.hpp"
#include "support.hpp"
#include "zip.hpp"

using humpty::read_zip;

TEST_CASE("CRC-32 of the standard check string", "[zip]") {
  CHECK(humpty::crc32("123456789", 9) == 0xCBF43926u);
  CHECK(humpty::crc32("", 0) == 0u);
  // Continuing over pieces gives the same as one pass.
  CHECK(humpty::crc32_update(humpty::crc32("12345", 5), "6789", 4) == 0xCBF43926u);
}

TEST_CASE("write_zip and read_zip round-trip stored entries, data aligned to 64 bytes", "[zip]") {
  std::vector<humpty::ZipFile> files = {
      {"a/data.pkl", {1, 2, 3}}, {"a/data/0", std::vector<std::uint8_t>(1000, 7)}, {"a/empty", {}}};
  auto bytes = humpty::write_zip(files);
  auto zip = read_zip(bytes.data(), bytes.size(), "mem.zip");
  REQUIRE(zip.ok());
  REQUIRE(zip->entries.size() == 3);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const humpty::ZipEntry& entry = zip->entries[i];
    CHECK(entry.name == files[i].name);
    CHECK(entry.size == files[i].bytes.size());
    CHECK(entry.data_offset % 64 == 0);
    CHECK(std::equal(files[i].bytes.begin(), files[i].bytes.end(),
                     bytes.begin() + std::ptrdiff_t(entry.data_offset)));
    CHECK(humpty::check_zip_crc(bytes.data(), entry, "mem.zip").ok());
  }
  CHECK(zip->find("a/data/0") == &zip->entries[1]);
  CHECK(zip->find("missing") == nullptr);
}

TEST_CASE("read_zip lists the entries of a real piece", "[zip][published]") {
  auto bytes = test::read_bytes(test::puzzle_dir() + "/pieces/piece_0.pth");
  auto zip = read_zip(bytes.data(), bytes.size(), "piece_0.pth");
  REQUIRE(zip.ok());
  CHECK(zip->find("archive/data.pkl") != nullptr);
  CHECK(zip->find("archive/data/0") != nullptr);
  for (const auto& entry : zip->entries)
    CHECK(humpty::check_zip_crc(bytes.data(), entry, "piece_0.pth").ok());
}

TEST_CASE("read_zip rejects broken archives with a message naming the file and offset", "[zip]") {
  auto good = humpty::write_zip({{"x/data.pkl", {1, 2, 3, 4}}});
  SECTION("too short") {
    auto zip = read_zip(good.data(), 10, "short.zip");
    REQUIRE(!zip.ok());
    CHECK(zip.message().find("short.zip:0: not a ZIP archive") == 0);
  }
  SECTION("no end record") {
    std::vector<std::uint8_t> junk(200, 0x41);
    auto zip = read_zip(junk.data(), junk.size(), "junk.zip");
    REQUIRE(!zip.ok());
    CHECK(zip.message().find("no end-of-central-directory record") != std::string::npos);
  }
  SECTION("truncated before the central directory ends") {
    // Cut the file in the middle but keep a valid-looking end record: the directory then lies
    // outside the file or its entries run past it.
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + 40);
    auto zip = read_zip(cut.data(), cut.size(), "cut.zip");
    CHECK(!zip.ok());
  }
  SECTION("a compressed entry is refused by name") {
    auto bytes = good;
    auto zip = read_zip(bytes.data(), bytes.size(), "x.zip");
    REQUIRE(zip.ok());
    // Patch the method field (offset 10) of the central directory entry to 8, deflate.
    std::size_t central = 0;
    for (std::size_t i = 0; i + 4 <= bytes.size(); ++i) {
      if (humpty::load_u32le(bytes.data() + i) == 0x02014b50) central = i;
    }
    REQUIRE(central > 0);
    humpty::store_u16le(bytes.data() + central + 10, 8);
    // Listed (TorchScript deflates entries a reader of weights never needs), refused when read.
    auto listed = read_zip(bytes.data(), bytes.size(), "deflate.zip");
    REQUIRE(listed.ok());
    CHECK(listed->entries[0].method == 8);
    const humpty::Status stored = humpty::require_stored(listed->entries[0], "deflate.zip");
    REQUIRE(!stored.ok());
    CHECK(stored.message().find("deflate.zip:" + std::to_string(central) +
                                ": entry 'x/data.pkl' uses compression method 8 (deflate)") == 0);
    CHECK(!humpty::check_zip_crc(bytes.data(), listed->entries[0], "deflate.zip").ok());
    auto piece = humpty::parse_pth(bytes.data(), bytes.size(), "deflate.pth");
    REQUIRE(!piece.ok());
    CHECK(piece.message().find("uses compression method 8 (deflate); only stored entries are supported") !=
          std::string::npos);
  }
  SECTION("a damaged byte fails the CRC check") {
    auto bytes = good;
    auto zip = read_zip(bytes.data(), bytes.size(), "x.zip");
    REQUIRE(zip.ok());
    bytes[std::size_t(zip->entries[0].data_offset)] ^= 0xFF;
    auto status = humpty::check_zip_crc(bytes.data(), zip->entries[0], "x.zip");
    REQUIRE(!status.ok());
    CHECK(status.message().find("fails its CRC-32 check") != std::string::npos);
  }
}
