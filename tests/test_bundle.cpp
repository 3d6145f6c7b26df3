#include <cstring>
#include <filesystem>
#include <limits>

#include "catch.hpp"
#include "crc32.hpp"
#include "io.hpp"
#include "support.hpp"

namespace {

std::vector<humpty::Layer> small_pieces() {
  return {test::random_layer(6, 4, 1), test::random_layer(4, 6, 2), test::random_layer(1, 4, 3)};
}

humpty::Dataset small_data(bool truth) {
  humpty::Dataset data;
  data.rows = 3;
  data.features = 4;
  data.feature_names = {"a", "b", "c", "dd"};
  data.x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f};
  data.pred = {0.1, -2, 3.25};
  if (truth) data.truth = {1, 2, 3};
  return data;
}

// Rewrites a header field and its CRC, to make files that are well-formed but wrong.
void patch_u32(std::vector<std::uint8_t>& bytes, std::size_t offset, std::uint32_t value) {
  humpty::store_u32le(bytes.data() + offset, value);
  humpty::store_u32le(bytes.data() + 60, humpty::crc32c(bytes.data(), 60));
}

}  // namespace

TEST_CASE("CRC-32C check value", "[bundle]") {
  CHECK(humpty::crc32c("123456789", 9) == 0xE3069283u);
  CHECK(humpty::crc32c_update(humpty::crc32c("1234", 4), "56789", 5) == 0xE3069283u);
  std::vector<std::uint8_t> big(1000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::uint8_t(i * 7);
  CHECK(humpty::crc32c(big.data(), 1000) ==
        humpty::crc32c_update(humpty::crc32c(big.data(), 333), big.data() + 333, 667));
  // Large buffers take the three-stream path; lengths around its boundaries must agree with the
  // plain table-driven CRC.
  std::vector<std::uint8_t> large(100000);
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = std::uint8_t(i * 131 + (i >> 7));
  for (std::size_t size : {8191, 8192, 8200, 24 * 1000 + 5, 99999, 100000}) {
    CHECK(humpty::crc32c(large.data(), size) == humpty::crc32c_portable_update(0, large.data(), size));
  }
  CHECK(humpty::crc32c_portable_update(0, "123456789", 9) == 0xE3069283u);
}

TEST_CASE(".humpty round-trips pieces and data exactly", "[bundle]") {
  for (bool with_truth : {false, true}) {
    humpty::Dataset data = small_data(with_truth);
    auto bytes = humpty::encode_bundle(small_pieces(), &data);
    auto bundle = humpty::parse_bundle(bytes.data(), bytes.size(), "mem.humpty");
    REQUIRE(bundle.ok());
    CHECK(bundle->puzzle.blocks() == 1);
    CHECK(bundle->puzzle.pieces[1].weight == small_pieces()[1].weight);
    CHECK(bundle->puzzle.pieces[2].bias == small_pieces()[2].bias);
    REQUIRE(bundle->has_data);
    CHECK(bundle->data.feature_names == data.feature_names);
    CHECK(bundle->data.x == data.x);
    CHECK(bundle->data.pred == data.pred);
    CHECK(bundle->data.truth == data.truth);
    auto pieces_only =
        humpty::parse_bundle(bytes.data(), bytes.size(), "mem.humpty", humpty::BundleParts::pieces);
    REQUIRE(pieces_only.ok());
    CHECK(!pieces_only->has_data);
  }
  auto no_data = humpty::encode_bundle(small_pieces(), nullptr);
  auto bundle = humpty::parse_bundle(no_data.data(), no_data.size(), "p.humpty");
  REQUIRE(bundle.ok());
  CHECK(!bundle->has_data);
}

TEST_CASE(".humpty keeps which layers have no bias; files without such layers are unchanged", "[bundle]") {
  std::vector<humpty::Layer> pieces = small_pieces();
  // Each record is 12 bytes of header, the weights and the bias, with no flags word.
  std::size_t plain_size = 64;
  for (const auto& layer : pieces) plain_size += 12 + 4 * (layer.weight.size() + layer.bias.size());
  const auto plain = humpty::encode_bundle(pieces, nullptr);
  CHECK(plain.size() == plain_size);
  CHECK(humpty::load_u32le(plain.data() + 12) == 0);

  pieces[0].has_bias = false;
  pieces[0].bias.assign(pieces[0].rows, 0.0f);
  const auto flagged = humpty::encode_bundle(pieces, nullptr);
  CHECK(humpty::load_u32le(flagged.data() + 12) == 4);
  CHECK(flagged.size() == plain_size + 3 * 4 - 4 * pieces[0].rows);  // a flags word each, one bias fewer
  CHECK(humpty::load_u32le(flagged.data() + 64 + 12) == 1);          // piece 0: no bias
  auto bundle = humpty::parse_bundle(flagged.data(), flagged.size(), "f.humpty");
  REQUIRE(bundle.ok());
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    CHECK(bundle->puzzle.pieces[k].has_bias == pieces[k].has_bias);
    CHECK(bundle->puzzle.pieces[k].weight == pieces[k].weight);
    CHECK(bundle->puzzle.pieces[k].bias == pieces[k].bias);
  }
  CHECK(humpty::encode_bundle(bundle->puzzle.pieces, nullptr) == flagged);

  // A flags word with bits this humpty does not know, every CRC right.
  auto bytes = flagged;
  humpty::store_u32le(bytes.data() + 64 + 12, 3);
  humpty::store_u32le(bytes.data() + 48,
                      humpty::crc32c(bytes.data() + 64, humpty::load_u64le(bytes.data() + 32)));
  humpty::store_u32le(bytes.data() + 60, humpty::crc32c(bytes.data(), 60));
  CHECK(humpty::parse_bundle(bytes.data(), bytes.size(), "u.humpty").message() ==
        "u.humpty:76: piece 0: unknown piece flags 3");
  // The same file read by a humpty that knew only the first two flags would be refused, not
  // misread: the header flag is what tells the record layout.
  bytes = flagged;
  patch_u32(bytes, 12, 0);
  CHECK(!humpty::parse_bundle(bytes.data(), bytes.size(), "v.humpty").ok());
}

TEST_CASE("broken .humpty files are rejected with file and offset", "[bundle]") {
  humpty::Dataset data = small_data(true);
  const auto good = humpty::encode_bundle(small_pieces(), &data);
  auto message = [](const std::vector<std::uint8_t>& bytes) {
    auto bundle = humpty::parse_bundle(bytes.data(), bytes.size(), "b.humpty");
    return bundle.ok() ? std::string("accepted") : bundle.message();
  };
  auto bytes = good;
  bytes[0] = 'X';
  CHECK(message(bytes) == "b.humpty:0: not a .humpty file (bad magic)");
  bytes = good;
  patch_u32(bytes, 8, 2);
  CHECK(message(bytes) == "b.humpty:8: format version 2 is not supported (this humpty reads version 1)");
  bytes = good;
  bytes[17] ^= 1;  // piece count, CRC not updated
  CHECK(message(bytes) == "b.humpty:60: header fails its CRC-32C check");
  bytes = good;
  patch_u32(bytes, 16, 1u << 20);
  CHECK(message(bytes).find("b.humpty:16: 1048576 pieces: expected 3 to 65536") == 0);
  bytes = good;
  bytes[64 + 20] ^= 0x40;  // a weight
  CHECK(message(bytes) == "b.humpty:64: pieces section fails its CRC-32C check");
  bytes = good;
  bytes.back() ^= 1;
  CHECK(message(bytes).find("data section fails its CRC-32C check") != std::string::npos);
  bytes = good;
  bytes.resize(bytes.size() - 8);
  CHECK(message(bytes).find("b.humpty:32: sections of") == 0);
  bytes = good;
  bytes.resize(40);
  CHECK(message(bytes) == "b.humpty:0: not a .humpty file (bad magic)");
  // A record whose index is wrong, with every CRC right: the record checks still catch it.
  bytes = good;
  humpty::store_u32le(bytes.data() + 64, 7);
  humpty::store_u32le(bytes.data() + 48,
                      humpty::crc32c(bytes.data() + 64, humpty::load_u64le(bytes.data() + 32)));
  humpty::store_u32le(bytes.data() + 60, humpty::crc32c(bytes.data(), 60));
  CHECK(message(bytes) == "b.humpty:64: piece 0: index 7, expected 0");
  // A feature count the data section cannot hold is refused before anything is allocated (found
  // by the fuzzer: it used to reserve 134 million names).
  bytes = good;
  patch_u32(bytes, 20, 0x08000003u);
  CHECK(message(bytes).find("134217731 feature names cannot fit in a data section of") != std::string::npos);
  // Non-finite data.
  humpty::Dataset bad = data;
  bad.pred[1] = std::nan("");
  auto with_nan = humpty::encode_bundle(small_pieces(), &bad);
  CHECK(message(with_nan).find("pred of row 1 is not finite") != std::string::npos);
  CHECK(humpty::read_bundle("/nonexistent.humpty").message() ==
        "/nonexistent.humpty: cannot open: No such file or directory");
}

TEST_CASE("the published pieces: .pth -> .humpty -> .pth keeps every tensor", "[bundle][published]") {
  const humpty::Puzzle& puzzle = test::published_puzzle();
  std::string dir = test::scratch_dir("roundtrip");
  REQUIRE(humpty::write_bundle(dir + "/p.humpty", puzzle.pieces, &test::published_data()).ok());
  auto bundle = humpty::read_bundle(dir + "/p.humpty");
  REQUIRE(bundle.ok());
  REQUIRE(humpty::write_pieces_directory(dir + "/pieces", bundle->puzzle.pieces).ok());
  auto back = humpty::read_puzzle(dir + "/pieces");
  REQUIRE(back.ok());
  REQUIRE(back->pieces.size() == puzzle.pieces.size());
  for (std::size_t k = 0; k < puzzle.pieces.size(); ++k) {
    CHECK(back->pieces[k].weight == puzzle.pieces[k].weight);
    CHECK(back->pieces[k].bias == puzzle.pieces[k].bias);
  }
  CHECK(bundle->data.pred == test::published_data().pred);
  CHECK(bundle->data.truth == test::published_data().truth);
  // read_puzzle takes the .humpty file itself too.
  auto direct = humpty::read_puzzle(dir + "/p.humpty");
  REQUIRE(direct.ok());
  CHECK(direct->last_piece == puzzle.last_piece);
  // No temporary files are left behind by the atomic writers.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    CHECK(entry.path().string().find(".tmp.") == std::string::npos);
  }
}

TEST_CASE(".humpty and CSV carry data of several outputs; single-output files are unchanged", "[bundle]") {
  humpty::Dataset data = small_data(false);
  data.outputs = 3;
  data.pred_rest = {1.5, -2.5, 0.25, 7, 8, 1.0 / 3.0};
  std::vector<humpty::Layer> pieces = small_pieces();
  pieces[2] = test::random_layer(3, 4, 3);  // the last layer: 3 outputs
  auto bytes = humpty::encode_bundle(pieces, &data);
  CHECK(humpty::load_u32le(bytes.data() + 12) == (1u | 8u));  // data, several outputs
  CHECK(humpty::load_u32le(bytes.data() + 56) == 3);
  auto bundle = humpty::parse_bundle(bytes.data(), bytes.size(), "m.humpty");
  REQUIRE(bundle.ok());
  CHECK(bundle->data.outputs == 3);
  CHECK(bundle->data.pred == data.pred);
  CHECK(bundle->data.pred_rest == data.pred_rest);
  CHECK(bundle->puzzle.outputs == 3);
  // A file of one output keeps 0 at offset 56, as before the flag existed.
  humpty::Dataset one = small_data(true);
  auto plain = humpty::encode_bundle(small_pieces(), &one);
  CHECK(humpty::load_u32le(plain.data() + 12) == 3u);
  CHECK(humpty::load_u32le(plain.data() + 56) == 0);
  // Broken: a count below 2, a true column besides, a value that is not finite.
  auto broken = bytes;
  patch_u32(broken, 56, 1);
  CHECK(humpty::parse_bundle(broken.data(), broken.size(), "b.humpty").message() ==
        "b.humpty:56: 1 outputs of 3 rows: expected 2 to 65536 outputs and at most 2147483648 values");
  broken = bytes;  // true columns announced but absent: the section is too short for them
  patch_u32(broken, 12, 1u | 2u | 8u);
  CHECK(humpty::parse_bundle(broken.data(), broken.size(), "b.humpty").message() ==
        "b.humpty:408: expected 192 bytes of values for 3 rows of 4 features, the section has 120");
  humpty::Dataset infinite = data;
  infinite.pred_rest[4] = std::numeric_limits<double>::infinity();
  auto bad = humpty::encode_bundle(pieces, &infinite);
  CHECK(humpty::parse_bundle(bad.data(), bad.size(), "b.humpty")
            .message()
            .find("pred_2 of row 1 is not finite") != std::string::npos);
  humpty::Dataset mismatched = data;
  mismatched.pred_rest.pop_back();
  CHECK(humpty::write_bundle(test::scratch_dir("mismatch") + "/m.humpty", pieces, &mismatched)
            .message()
            .find("outputs do not match its pred or true columns") != std::string::npos);
  CHECK(humpty::write_csv(test::scratch_dir("mismatch-csv") + "/m.csv", mismatched)
            .message()
            .find("outputs do not match its pred or true columns") != std::string::npos);
  // CSV: pred_0 .. pred_2, read back the same.
  std::string dir = test::scratch_dir("csv-outputs");
  REQUIRE(humpty::write_csv(dir + "/m.csv", data).ok());
  auto text = test::read_bytes(dir + "/m.csv");
  CHECK(std::string(text.begin(), text.end()).find("a,b,c,dd,pred_0,pred_1,pred_2\n1,2,3,4,0.1,1.5,7\n") ==
        0);
  auto back = humpty::read_csv(dir + "/m.csv");
  REQUIRE(back.ok());
  CHECK(back->outputs == 3);
  CHECK(back->pred == data.pred);
  CHECK(back->pred_rest == data.pred_rest);
  // A feature may not be called pred_0: the CSV would read it as the first output.
  humpty::Dataset named = small_data(false);
  named.feature_names[1] = "pred_0";
  CHECK(humpty::write_csv(dir + "/n.csv", named).message().find("is the name of another column") !=
        std::string::npos);
}

TEST_CASE(".humpty and CSV carry a target for each of several outputs", "[bundle]") {
  humpty::Dataset data = small_data(true);
  data.outputs = 3;
  data.pred_rest = {1.5, -2.5, 0.25, 7, 8, 1.0 / 3.0};
  data.truth_rest = {-1, 0.5, 2, 4, 5, 6.25};
  std::vector<humpty::Layer> pieces = small_pieces();
  pieces[2] = test::random_layer(3, 4, 3);
  auto bytes = humpty::encode_bundle(pieces, &data);
  CHECK(humpty::load_u32le(bytes.data() + 12) == (1u | 2u | 8u));  // data, true, several outputs
  auto bundle = humpty::parse_bundle(bytes.data(), bytes.size(), "t.humpty");
  REQUIRE(bundle.ok());
  CHECK(bundle->data.pred_rest == data.pred_rest);
  CHECK(bundle->data.truth == data.truth);
  CHECK(bundle->data.truth_rest == data.truth_rest);
  humpty::Dataset infinite = data;
  infinite.truth_rest[5] = std::numeric_limits<double>::quiet_NaN();
  auto bad = humpty::encode_bundle(pieces, &infinite);
  CHECK(humpty::parse_bundle(bad.data(), bad.size(), "b.humpty")
            .message()
            .find("true_2 of row 2 is not finite") != std::string::npos);
  humpty::Dataset mismatched = data;
  mismatched.truth_rest.pop_back();
  CHECK(humpty::write_bundle(test::scratch_dir("mismatch-true") + "/m.humpty", pieces, &mismatched)
            .message()
            .find("outputs do not match its pred or true columns") != std::string::npos);
  std::string dir = test::scratch_dir("csv-targets");
  REQUIRE(humpty::write_csv(dir + "/t.csv", data).ok());
  auto text = test::read_bytes(dir + "/t.csv");
  CHECK(std::string(text.begin(), text.end())
            .find("a,b,c,dd,pred_0,pred_1,pred_2,true_0,true_1,true_2\n1,2,3,4,0.1,1.5,7,1,-1,4\n") == 0);
  auto back = humpty::read_csv(dir + "/t.csv");
  REQUIRE(back.ok());
  CHECK(back->truth == data.truth);
  CHECK(back->truth_rest == data.truth_rest);
}

TEST_CASE("write_csv writes what parse_csv reads back exactly", "[bundle]") {
  humpty::Dataset data = small_data(true);
  data.pred = {double(0.1f), -2e-30, 1.0 / 3.0};  // a float32 value, a tiny one, a true double
  std::string dir = test::scratch_dir("csv");
  REQUIRE(humpty::write_csv(dir + "/d.csv", data).ok());
  auto back = humpty::read_csv(dir + "/d.csv");
  REQUIRE(back.ok());
  CHECK(back->feature_names == data.feature_names);
  CHECK(back->x == data.x);
  CHECK(back->truth == data.truth);
  CHECK(back->pred == data.pred);
  auto text = test::read_bytes(dir + "/d.csv");
  CHECK(std::string(text.begin(), text.end()).find("\n1,2,3,4,0.10000000149011612,1\n") != std::string::npos);
}
