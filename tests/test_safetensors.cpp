#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "catch.hpp"
#include "io.hpp"
#include "pth.hpp"
#include "safetensors.hpp"
#include "support.hpp"

namespace {

// A safetensors file from its header text and data bytes, the header padded as given.
std::vector<std::uint8_t> file_of(const std::string& header, const std::vector<std::uint8_t>& data) {
  // (Sized once and filled in place: GCC 12 warns falsely about inserting into an 8-byte vector.)
  std::vector<std::uint8_t> bytes(8 + header.size() + data.size());
  humpty::store_u64le(bytes.data(), header.size());
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  std::copy(data.begin(), data.end(), bytes.begin() + 8 + std::ptrdiff_t(header.size()));
  return bytes;
}

std::vector<std::uint8_t> f32_bytes(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    humpty::store_u32le(bytes.data() + 4 * i, bits);
  }
  return bytes;
}

// A 2 x 3 layer whose values are exact in float16 and bfloat16 too.
humpty::Layer small_layer() {
  humpty::Layer layer;
  layer.rows = 2;
  layer.cols = 3;
  layer.weight = {1.0f, -2.5f, 0.0f, 4096.0f, 0.125f, -0.25f};
  layer.bias = {3.0f, -1.0f};
  return layer;
}

// The header of small_layer in Python's json.dumps style (spaces after ':' and ','), weight
// first, with metadata as transformers writes it; `weight` and `bias` replace the entries.
std::string python_header(
    const std::string& weight = "{\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}",
    const std::string& bias = "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}") {
  return "{\"__metadata__\": {\"format\": \"pt\"}, \"weight\": " + weight + ", \"bias\": " + bias + "}";
}

std::vector<std::uint8_t> python_data() {
  humpty::Layer layer = small_layer();
  auto data = f32_bytes(layer.weight);
  auto bias = f32_bytes(layer.bias);
  data.insert(data.end(), bias.begin(), bias.end());
  return data;
}

std::string message(const std::vector<std::uint8_t>& bytes, const std::string& name = "l.safetensors") {
  auto layer = humpty::parse_safetensors(bytes.data(), bytes.size(), name);
  REQUIRE_FALSE(layer.ok());
  return layer.message();
}

}  // namespace

TEST_CASE("write_safetensors lays a layer out as the reference writer does, and reads back",
          "[safetensors]") {
  humpty::Layer layer = small_layer();
  auto bytes = humpty::write_safetensors(layer);
  // serde_json's compact form, tensors sorted by name, spaces up to a multiple of 8 bytes.
  const std::string header =
      "{\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  auto expected = f32_bytes(layer.bias);
  auto weight = f32_bytes(layer.weight);
  expected.insert(expected.end(), weight.begin(), weight.end());
  CHECK(bytes == file_of(padded, expected));
  auto back = humpty::parse_safetensors(bytes.data(), bytes.size(), "mem.safetensors");
  REQUIRE(back.ok());
  CHECK(back->rows == 2);
  CHECK(back->cols == 3);
  CHECK(back->weight == layer.weight);
  CHECK(back->bias == layer.bias);
  CHECK(back->has_bias);

  humpty::Layer random = test::random_layer(7, 5, 3);
  bytes = humpty::write_safetensors(random);
  back = humpty::parse_layer(bytes.data(), bytes.size(), "any-name.bin");  // told by content
  REQUIRE(back.ok());
  CHECK(back->weight == random.weight);
  CHECK(back->bias == random.bias);
}

TEST_CASE("a bias-free layer is written with its weight alone and reads back bias-free", "[safetensors]") {
  humpty::Layer layer = small_layer();
  layer.has_bias = false;
  layer.bias.assign(2, 0.0f);
  auto bytes = humpty::write_safetensors(layer);
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.find("bias") == std::string::npos);
  CHECK(text.find("\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}") !=
        std::string::npos);
  auto back = humpty::parse_safetensors(bytes.data(), bytes.size(), "nb.safetensors");
  REQUIRE(back.ok());
  CHECK_FALSE(back->has_bias);
  CHECK(back->bias == std::vector<float>{0.0f, 0.0f});
  CHECK(back->weight == layer.weight);
}

TEST_CASE("the reference implementation's own serialization test vector parses", "[safetensors]") {
  // safetensors/src/tensor.rs, test_serialization: one F32 tensor "attn.0" of shape [1, 2, 3].
  // Its header parses and its range checks pass; it is refused only for not being a Linear layer.
  const std::vector<std::uint8_t> bytes = {
      64,  0,   0,   0,   0,   0,  0,  0,  123, 34, 97,  116, 116, 110, 46,  48,  34,  58,  123, 34,
      100, 116, 121, 112, 101, 34, 58, 34, 70,  51, 50,  34,  44,  34,  115, 104, 97,  112, 101, 34,
      58,  91,  49,  44,  50,  44, 51, 93, 44,  34, 100, 97,  116, 97,  95,  111, 102, 102, 115, 101,
      116, 115, 34,  58,  91,  48, 44, 50, 52,  93, 125, 125, 0,   0,   0,   0,   0,   0,   128, 63,
      0,   0,   0,   64,  0,   0,  64, 64, 0,   0,  128, 64,  0,   0,   160, 64};
  CHECK(message(bytes) ==
        "l.safetensors: unexpected tensor 'attn.0': a Linear layer's state dict holds only 'weight' and "
        "'bias'");
}

TEST_CASE("headers as Python writes them: spaces, any order, metadata, escapes", "[safetensors]") {
  auto layer = humpty::parse_safetensors(file_of(python_header(), python_data()).data(),
                                         file_of(python_header(), python_data()).size(), "py.safetensors");
  REQUIRE(layer.ok());
  CHECK(layer->weight == small_layer().weight);
  CHECK(layer->bias == small_layer().bias);
  // A name spelled with escapes is the same name; the metadata may hold any strings.
  std::string header = python_header();
  header.replace(header.find("\"weight\""), 8, "\"w\\u0065ight\"");
  header.replace(header.find("\"pt\""), 4, "\"\\\"q\\\" \\ud83d\\ude00 \\n\"");
  auto bytes = file_of("  " + header + "\n   ", python_data());
  auto escaped = humpty::parse_safetensors(bytes.data(), bytes.size(), "esc.safetensors");
  REQUIRE(escaped.ok());
  CHECK(escaped->weight == small_layer().weight);
}

TEST_CASE("F64, F16 and BF16 tensors are converted to float32", "[safetensors]") {
  const humpty::Layer layer = small_layer();
  auto encode = [&](const char* dtype, std::size_t element, void (*put)(float, std::uint8_t*)) {
    std::vector<std::uint8_t> data((layer.weight.size() + layer.bias.size()) * element);
    std::size_t i = 0;
    for (float v : layer.weight) put(v, data.data() + element * i++);
    for (float v : layer.bias) put(v, data.data() + element * i++);
    const std::string w_end = std::to_string(6 * element), b_end = std::to_string(8 * element);
    const std::string header =
        python_header(std::string("{\"dtype\": \"") + dtype +
                          "\", \"shape\": [2, 3], \"data_offsets\": [0, " + w_end + "]}",
                      std::string("{\"dtype\": \"") + dtype + "\", \"shape\": [2], \"data_offsets\": [" +
                          w_end + ", " + b_end + "]}");
    return file_of(header, data);
  };
  auto check = [&](const std::vector<std::uint8_t>& bytes) {
    auto back = humpty::parse_safetensors(bytes.data(), bytes.size(), "t.safetensors");
    REQUIRE(back.ok());
    CHECK(back->weight == layer.weight);
    CHECK(back->bias == layer.bias);
  };
  check(encode("F64", 8, [](float f, std::uint8_t* p) {
    double d = f;
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    humpty::store_u64le(p, bits);
  }));
  check(encode("F16", 2, [](float f, std::uint8_t* p) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    std::uint16_t sign = std::uint16_t((bits >> 16) & 0x8000);
    int exponent = int((bits >> 23) & 0xFF) - 127 + 15;
    humpty::store_u16le(p, f == 0 ? sign : std::uint16_t(sign | (exponent << 10) | ((bits >> 13) & 0x3FF)));
  }));
  check(encode("BF16", 2, [](float f, std::uint8_t* p) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    humpty::store_u16le(p, std::uint16_t(bits >> 16));
  }));
}

TEST_CASE("broken safetensors files are refused with the file and the place", "[safetensors]") {
  const auto data = python_data();
  const std::string w = "{\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}";
  const std::string b = "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}";
  auto header_error = [&](const std::string& header) { return message(file_of(header, data)); };

  // The length word.
  CHECK(message({1, 2, 3}) ==
        "l.safetensors: not a safetensors file: 3 bytes, fewer than the 8 of the header's length");
  auto bytes = file_of(python_header(), data);
  humpty::store_u64le(bytes.data(), 1000);  // the reference's first abuse attempt
  CHECK(message(bytes) == "l.safetensors:0: the header's length 1000 runs past the end of the file (" +
                              std::to_string(bytes.size()) + " bytes)");
  humpty::store_u64le(bytes.data(), ~std::uint64_t(0));
  CHECK(message(bytes).find("l.safetensors:0: the header's length 18446744073709551615 is above the limit") ==
        0);

  // The text and the JSON.
  std::string bad_utf8 = python_header();
  bad_utf8[bad_utf8.find("pt")] = char(0xC0);
  CHECK(header_error(bad_utf8) == "l.safetensors:8: the header is not UTF-8 text");
  CHECK(header_error("[1, 2]") == "l.safetensors:8: the header is not a JSON object");
  CHECK(header_error(python_header() + "x") == "l.safetensors:" + std::to_string(8 + python_header().size()) +
                                                   ": unexpected bytes after the header's JSON object");
  CHECK(header_error("{\"weight\": " + w + " \"bias\": " + b + "}")
            .find("expected ',' or '}' after a header entry") != std::string::npos);
  CHECK(header_error("{\"weight\" " + w + "}").find("expected ':' after a name in the header") !=
        std::string::npos);
  CHECK(header_error("{\"weight\": " + w).find("expected ',' or '}' after a header entry") !=
        std::string::npos);
  CHECK(header_error("{\"weig").find("a string runs past the end of the header") != std::string::npos);
  CHECK(header_error("{\"we\\qight\": " + w + "}").find("an unknown escape in a string") !=
        std::string::npos);
  CHECK(header_error("{\"we\\ud800ight\": " + w + "}").find("an unpaired surrogate in a string") !=
        std::string::npos);
  CHECK(header_error("{\"we\\u00g1\": " + w + "}").find("a \\u escape needs four hex digits") !=
        std::string::npos);
  CHECK(header_error("{\"we\night\": " + w + "}").find("a control byte inside a string") !=
        std::string::npos);
  CHECK(header_error("{weight: " + w + "}") == "l.safetensors:9: expected a tensor name (a JSON string)");
  CHECK(header_error("{\"__metadata__\": {\"n\": 1}, \"weight\": " + w + "}")
            .find("expected a metadata value (a JSON string)") != std::string::npos);
  CHECK(header_error("{\"__metadata__\": [], \"weight\": " + w + "}")
            .find("'__metadata__' must be an object of strings") != std::string::npos);
  CHECK(header_error("{\"__metadata__\": {}, \"__metadata__\": {}}").find("'__metadata__' is given twice") !=
        std::string::npos);

  // The entries.
  CHECK(header_error("{\"weight\": " + w + ", \"weight\": " + w + "}") ==
        "l.safetensors:" + std::to_string(8 + 13 + w.size()) + ": tensor 'weight' is given twice");
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"dtype\": \"F32\"}}") ==
        "l.safetensors:36: tensor 'weight': field 'dtype' is given twice");
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"strides\": [3, 1]}}") ==
        "l.safetensors:36: tensor 'weight': unknown field 'strides'");
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, 3]}}") ==
        "l.safetensors:9: tensor 'weight' lacks data_offsets");
  CHECK(header_error("{\"weight\": {\"dtype\": \"I64\", \"shape\": [2, 3], \"data_offsets\": [0, 48]}}") ==
        "l.safetensors:29: tensor 'weight' has dtype 'I64'; only F32, F64, F16 and BF16 are read");
  CHECK(header_error("{\"weight\": 7}") ==
        "l.safetensors:19: tensor 'weight': expected an object with dtype, shape and data_offsets");
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, -3], \"data_offsets\": [0, 24]}}")
            .find("expected the shape (a non-negative integer)") != std::string::npos);
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, 3.0], \"data_offsets\": [0, 24]}}")
            .find("the shape is not an integer") != std::string::npos);
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, 03], \"data_offsets\": [0, 24]}}")
            .find("the shape has a leading zero") != std::string::npos);
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [[2], 3], \"data_offsets\": [0, 24]}}")
            .find("expected the shape (a non-negative integer)") != std::string::npos);
  CHECK(header_error(
            "{\"weight\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}")
            .find("the shape has more than 8 entries") != std::string::npos);
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, "
                     "99999999999999999999]}}")
            .find("data_offsets is too large") != std::string::npos);
  CHECK(header_error("{\"weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0]}}")
            .find("tensor 'weight': data_offsets must be [begin, end]") != std::string::npos);
  std::string many = "{";
  for (int i = 0; i < 65; ++i) many += "\"t" + std::to_string(i) + "\": " + w + ", ";
  CHECK(header_error(many).find("more than 64 tensors; not one Linear layer") != std::string::npos);

  // The ranges against each other and the data.
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [28, 36]}"))
            .find("tensor 'bias': data_offsets begin at 28, expected 24 (a gap)") != std::string::npos);
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [16, 24]}"))
            .find("tensor 'bias': data_offsets begin at 16, expected 24 (an overlap)") != std::string::npos);
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [32, 24]}"))
            .find("tensor 'bias': data_offsets [32, 24] end before they begin") != std::string::npos);
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [24, 32]}"))
            .find("tensor 'bias': data_offsets [24, 32] hold 8 bytes, but shape [3] of F32 needs 12") !=
        std::string::npos);
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [24, 36]}"))
            .find("tensor 'bias': data_offsets end at 36, past the 32 bytes of data after the header") !=
        std::string::npos);
  CHECK(header_error(python_header(w, "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [24, 28]}")) ==
        "l.safetensors:" + std::to_string(8 + python_header().size() + 28) +
            ": 4 bytes after the last tensor belong to none");
  CHECK(header_error(
            python_header(
                "{\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 24]}"))
            .find("tensor 'weight' of shape [4294967296,4294967296] is larger than the limit") !=
        std::string::npos);

  // The layer.
  CHECK(message(file_of("{\"__metadata__\": {}}", {})) ==
        "l.safetensors: not a Linear layer's state dict: no 'weight' tensor");
  CHECK(header_error(python_header("{\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]}"))
            .find("tensor 'weight' has wrong shape: got [6]") != std::string::npos);
  auto nan_data = data;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_data.data() + 4, &nan, 4);
  CHECK(message(file_of(python_header(), nan_data)).find("layer values must be finite") != std::string::npos);
}

TEST_CASE("a layer file's format is told by its bytes; unknown bytes get the named format's error",
          "[safetensors]") {
  humpty::Layer layer = small_layer();
  auto pth = humpty::write_pth(layer, "archive");
  auto as_pth = humpty::parse_layer(pth.data(), pth.size(), "x.safetensors");
  REQUIRE(as_pth.ok());
  CHECK(as_pth->weight == layer.weight);
  const std::string text = "neither a zip nor a pickle nor a header";
  const std::vector<std::uint8_t> junk(text.begin(), text.end());
  auto named_st = humpty::parse_layer(junk.data(), junk.size(), "j.safetensors");
  REQUIRE_FALSE(named_st.ok());
  CHECK(named_st.message().find("j.safetensors:0: the header's length") == 0);
  auto named_pth = humpty::parse_layer(junk.data(), junk.size(), "j.pth");
  auto direct = humpty::parse_pth(junk.data(), junk.size(), "j.pth");
  REQUIRE_FALSE(named_pth.ok());
  CHECK(named_pth.message() == direct.message());
}

TEST_CASE("a pieces directory of safetensors files reads as the same puzzle", "[safetensors]") {
  const auto& generated = test::generated(3, 4, 8, 50, 2, 17);
  const std::string dir = test::scratch_dir("safetensors-pieces");
  REQUIRE(
      humpty::write_pieces_directory(dir, generated.puzzle.pieces, humpty::PieceFormat::safetensors).ok());
  auto puzzle = humpty::read_puzzle(dir);
  REQUIRE(puzzle.ok());
  REQUIRE(puzzle->pieces.size() == generated.puzzle.pieces.size());
  for (std::size_t k = 0; k < puzzle->pieces.size(); ++k) {
    CHECK(puzzle->pieces[k].weight == generated.puzzle.pieces[k].weight);
    CHECK(puzzle->pieces[k].bias == generated.puzzle.pieces[k].bias);
  }
  // Formats may be mixed across pieces, but one piece has one file.
  test::write_bytes(dir + "/piece_2.pth", humpty::write_pth(generated.puzzle.pieces[2], "archive"));
  CHECK(humpty::read_puzzle(dir).message() ==
        dir + ": two files for piece 2: piece_2.pth and piece_2.safetensors");
  std::remove((dir + "/piece_2.safetensors").c_str());
  auto mixed = humpty::read_puzzle(dir);
  REQUIRE(mixed.ok());
  CHECK(mixed->pieces[2].weight == generated.puzzle.pieces[2].weight);
  std::remove((dir + "/piece_4.safetensors").c_str());
  CHECK(humpty::read_puzzle(dir).message().find(dir + ": piece_4.safetensors is missing") == 0);
}
