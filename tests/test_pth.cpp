#include <algorithm>
#include <cstring>

#include "catch.hpp"
#include "io.hpp"
#include "pickle.hpp"
#include "pth.hpp"
#include "support.hpp"
#include "zip.hpp"

namespace {

// Why the pickle (<folder>/data.pkl) of the torch-written archive at `path` is refused once its
// global `from` is renamed `to` (GLOBAL's "module\nname\n"), or "" if it is not.
std::string refusal_with_global(const std::string& path, const std::string& from, const std::string& to) {
  auto bytes = test::read_bytes(path);
  auto zip = humpty::read_zip(bytes.data(), bytes.size(), path);
  REQUIRE(zip.ok());
  std::string text;
  for (const auto& entry : zip->entries) {
    if (entry.name.size() > 8 && entry.name.compare(entry.name.size() - 8, 8, "data.pkl") == 0)
      text.assign(reinterpret_cast<const char*>(bytes.data() + entry.data_offset), std::size_t(entry.size));
  }
  REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(), to);
  std::vector<std::uint8_t> renamed(text.begin(), text.end());
  auto refused = humpty::read_state_dict_pickle(renamed.data(), renamed.size(), "renamed.pkl");
  return refused.ok() ? std::string() : refused.message();
}

// The pickle of a Linear state dict (weight rows x cols, bias_rows bias values).
std::vector<std::uint8_t> linear_pickle(std::uint64_t rows, std::uint64_t cols, std::uint64_t bias_rows) {
  return humpty::write_state_dict_pickle(test::linear_state_dict(rows, cols, bias_rows));
}

// A .pth file whose storages hold `dtype` values: the writer's layout with the pickle's storage
// type renamed and the data entries re-encoded.
std::vector<std::uint8_t> pth_with_dtype(const humpty::Layer& layer, const char* storage_type,
                                         std::size_t element, void (*encode)(float, std::uint8_t*)) {
  auto pickle = linear_pickle(layer.rows, layer.cols, layer.rows);
  std::string text(pickle.begin(), pickle.end());
  std::size_t at = text.find("FloatStorage");
  text.replace(at, 12, storage_type);
  auto encode_all = [&](const std::vector<float>& values) {
    std::vector<std::uint8_t> bytes(values.size() * element);
    for (std::size_t i = 0; i < values.size(); ++i) encode(values[i], bytes.data() + i * element);
    return bytes;
  };
  return humpty::write_zip({{"old/data.pkl", std::vector<std::uint8_t>(text.begin(), text.end())},
                            {"old/data/0", encode_all(layer.weight)},
                            {"old/data/1", encode_all(layer.bias)}});
}

}  // namespace

TEST_CASE("a real piece reads as a Linear layer", "[pth][published]") {
  auto layer = humpty::read_pth(test::puzzle_dir() + "/pieces/piece_85.pth");
  REQUIRE(layer.ok());
  CHECK(layer->rows == 1);
  CHECK(layer->cols == 48);
  CHECK(layer->weight.size() == 48);
  CHECK(layer->bias.size() == 1);
  auto inp = humpty::read_pth(test::puzzle_dir() + "/pieces/piece_0.pth");
  REQUIRE(inp.ok());
  CHECK(((inp->rows == 96 && inp->cols == 48) || (inp->rows == 48 && inp->cols == 96)));
}

TEST_CASE("write_pth and parse_pth round-trip a layer exactly", "[pth]") {
  humpty::Layer layer = test::random_layer(5, 7, 11);
  auto bytes = humpty::write_pth(layer, "piece_3");
  auto back = humpty::parse_pth(bytes.data(), bytes.size(), "mem.pth");
  REQUIRE(back.ok());
  CHECK(back->rows == 5);
  CHECK(back->cols == 7);
  CHECK(back->weight == layer.weight);
  CHECK(back->bias == layer.bias);
}

TEST_CASE("a layer without a bias: PyTorch's own file reads, and is written back without one", "[pth]") {
  // tests/data/nobias_torch.pth: torch 1.13's torch.save of nn.Linear(3, 2, bias=False) with
  // these weights (its state dict holds 'weight' alone).
  auto file = humpty::read_pth("tests/data/nobias_torch.pth");
  REQUIRE(file.ok());
  CHECK(file->rows == 2);
  CHECK(file->cols == 3);
  CHECK(file->weight == std::vector<float>{0.5f, -1.25f, 2.0f, 0.125f, 3.0f, -0.75f});
  CHECK(!file->has_bias);
  CHECK(file->bias == std::vector<float>{0.0f, 0.0f});
  auto entries = [](const std::vector<std::uint8_t>& bytes) {
    std::vector<std::string> names;
    auto zip = humpty::read_zip(bytes.data(), bytes.size(), "mem.pth");
    REQUIRE(zip.ok());
    for (const auto& entry : zip->entries) names.push_back(entry.name);
    return names;
  };
  auto bytes = humpty::write_pth(*file, "piece_0");
  auto names = entries(bytes);
  CHECK(std::find(names.begin(), names.end(), "piece_0/data/0") != names.end());
  CHECK(std::find(names.begin(), names.end(), "piece_0/data/1") == names.end());
  auto back = humpty::parse_pth(bytes.data(), bytes.size(), "mem.pth");
  REQUIRE(back.ok());
  CHECK(!back->has_bias);
  CHECK(back->weight == file->weight);
  CHECK(back->bias == file->bias);
  // A layer with a bias keeps its second storage.
  auto biased = entries(humpty::write_pth(test::random_layer(2, 3, 1), "piece_1"));
  CHECK(std::find(biased.begin(), biased.end(), "piece_1/data/1") != biased.end());
}

TEST_CASE("a whole nn.Linear module (torch.save(layer)) reads as its state dict", "[pth]") {
  // tests/data/module_torch.pth: torch 1.13's torch.save(layer) of nn.Linear(3, 2) with these
  // values; module_nobias_torch.pth the same without a bias, in the legacy format (which names the
  // class by a persistent id carrying its source).
  auto module = humpty::read_pth("tests/data/module_torch.pth");
  REQUIRE(module.ok());
  CHECK(module->rows == 2);
  CHECK(module->cols == 3);
  CHECK(module->weight == std::vector<float>{0.5f, -1.25f, 2.0f, 0.125f, 3.0f, -0.75f});
  CHECK(module->bias == std::vector<float>{1.5f, -0.5f});
  CHECK(module->has_bias);
  auto legacy = humpty::read_pth("tests/data/module_nobias_torch.pth");
  REQUIRE(legacy.ok());
  CHECK(legacy->weight == module->weight);
  CHECK(!legacy->has_bias);
  // Any other class stays refused by name (its pickle, the class renamed).
  CHECK(
      refusal_with_global("tests/data/module_torch.pth", "torch.nn.modules.linear\nLinear\n",
                          "torch.nn.modules.linear\nLinea2\n")
          .find(
              "pickle refers to 'torch.nn.modules.linear.Linea2', which is not part of a PyTorch state dict "
              "or nn.Linear module; refusing it") != std::string::npos);
}

TEST_CASE("torch.save with pickle_protocol 4 or 5 reads as with the default 2", "[pth]") {
  // tests/data/module_protocol4_torch.pth: torch.save(layer, f, pickle_protocol=4) of the nn.Linear
  // above (FRAME, MEMOIZE, STACK_GLOBAL, and EMPTY_SET/ADDITEMS for its set of buffer names);
  // legacy_protocol5_torch.pth: its state dict with pickle_protocol=5 in the legacy format, whose
  // magic number and version pickles then carry a FRAME.
  for (const char* path :
       {"tests/data/module_protocol4_torch.pth", "tests/data/legacy_protocol5_torch.pth"}) {
    INFO(path);
    auto layer = humpty::read_layer(path);
    REQUIRE(layer.ok());
    CHECK(layer->weight == std::vector<float>{0.5f, -1.25f, 2.0f, 0.125f, 3.0f, -0.75f});
    CHECK(layer->bias == std::vector<float>{1.5f, -0.5f});
  }
}

TEST_CASE("a TorchScript nn.Linear (torch.jit.save of a scripted or traced layer) reads as its state dict",
          "[pth]") {
  // tests/data/scripted_torch.pt: torch 1.13's torch.jit.save(torch.jit.script(layer)) of the
  // nn.Linear(3, 2) above; traced_nobias_torch.pt: torch.jit.trace of the same without a bias, whose
  // class has a mangled module (___torch_mangle_0). Both archives deflate their source code, which is
  // never read; their weights are stored.
  auto scripted = humpty::read_layer("tests/data/scripted_torch.pt");
  REQUIRE(scripted.ok());
  CHECK(scripted->rows == 2);
  CHECK(scripted->cols == 3);
  CHECK(scripted->weight == std::vector<float>{0.5f, -1.25f, 2.0f, 0.125f, 3.0f, -0.75f});
  CHECK(scripted->bias == std::vector<float>{1.5f, -0.5f});
  auto traced = humpty::read_layer("tests/data/traced_nobias_torch.pt");
  REQUIRE(traced.ok());
  CHECK(traced->weight == scripted->weight);
  CHECK(!traced->has_bias);
  // Only nn.Linear's scripted class is taken: another module or class name is refused by name.
  for (const std::string other :
       {"__torch__.torch.nn.modules.linea2\nLinear\n", "__torch__.torch.nn.modules.linear\nConv2d\n"}) {
    CHECK(refusal_with_global("tests/data/scripted_torch.pt", "__torch__.torch.nn.modules.linear\nLinear\n",
                              other)
              .find("which is not part of a PyTorch state dict or nn.Linear module; refusing it") !=
          std::string::npos);
  }
}

TEST_CASE("the legacy format (torch.save before 1.6, or without the zip file) reads as the zip one",
          "[pth]") {
  // tests/data/legacy_torch.pth: torch 1.13's torch.save(..., _use_new_zipfile_serialization=False)
  // of nn.Linear(3, 2) with these weights and biases.
  const auto good = test::read_bytes("tests/data/legacy_torch.pth");
  auto layer = humpty::parse_pth(good.data(), good.size(), "legacy.pth");
  REQUIRE(layer.ok());
  CHECK(layer->rows == 2);
  CHECK(layer->cols == 3);
  CHECK(layer->weight == std::vector<float>{0.5f, -1.25f, 2.0f, 0.125f, 3.0f, -0.75f});
  CHECK(layer->bias == std::vector<float>{0.25f, -4.0f});
  CHECK(layer->has_bias);
  auto message = [](const std::vector<std::uint8_t>& bytes) {
    auto result = humpty::parse_pth(bytes.data(), bytes.size(), "l.pth");
    return result.ok() ? std::string("accepted") : result.message();
  };
  // The storages come last: the bias's 2 values, after its u64 count, end the file.
  auto bytes = good;
  bytes.resize(bytes.size() - 4);
  CHECK(message(bytes) == "l.pth:" + std::to_string(good.size() - 16) +
                              ": storage '311259040' of 2 float32 values runs past the end of the file");
  bytes = good;
  bytes.push_back(0);
  CHECK(message(bytes) ==
        "l.pth:" + std::to_string(good.size()) + ": 1 bytes left over after the last storage");
  bytes = good;
  bytes[17] = 0xea;  // protocol version 1002
  CHECK(message(bytes) ==
        "l.pth:15: legacy PyTorch file: protocol version is not 1001, the only one supported");
  std::string text(good.begin(), good.end());
  bytes = good;
  bytes[text.find("little_endian") + 15] = 0x89;  // after its BINPUT: NEWTRUE becomes NEWFALSE
  CHECK(message(bytes).find("storages are stored big-endian; only little-endian is supported") !=
        std::string::npos);
  bytes = good;
  bytes.resize(text.find("_rebuild_tensor_v2"));
  CHECK(message(bytes).find("l.pth:") == 0);
}

TEST_CASE("float64, float16 and bfloat16 storages are converted to float32", "[pth]") {
  humpty::Layer layer;
  layer.rows = 2;
  layer.cols = 3;
  layer.weight = {1.0f, -2.5f, 0.0f, 65504.0f, 0.000061035156f, -0.25f};  // exact in all three
  layer.bias = {3.0f, -1.0f};
  SECTION("float64") {
    auto bytes = pth_with_dtype(layer, "DoubleStorage", 8, [](float f, std::uint8_t* p) {
      double d = f;
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      humpty::store_u64le(p, bits);
    });
    auto back = humpty::parse_pth(bytes.data(), bytes.size(), "f64.pth");
    REQUIRE(back.ok());
    CHECK(back->weight == layer.weight);
  }
  SECTION("float16") {
    auto bytes = pth_with_dtype(layer, "HalfStorage", 2, [](float f, std::uint8_t* p) {
      // The test values are exact halves; encode them by hand.
      std::uint32_t bits;
      std::memcpy(&bits, &f, 4);
      std::uint16_t sign = std::uint16_t((bits >> 16) & 0x8000);
      int exponent = int((bits >> 23) & 0xFF) - 127 + 15;
      std::uint16_t half = f == 0 ? sign : std::uint16_t(sign | (exponent << 10) | ((bits >> 13) & 0x3FF));
      humpty::store_u16le(p, half);
    });
    auto back = humpty::parse_pth(bytes.data(), bytes.size(), "f16.pth");
    REQUIRE(back.ok());
    CHECK(back->weight == layer.weight);
    CHECK(back->bias == layer.bias);
  }
  SECTION("bfloat16") {
    humpty::Layer coarse = layer;
    coarse.weight = {1.0f, -2.5f, 0.0f, 65536.0f, 0.125f, -0.25f};
    auto bytes = pth_with_dtype(coarse, "BFloat16Storage", 2, [](float f, std::uint8_t* p) {
      std::uint32_t bits;
      std::memcpy(&bits, &f, 4);
      humpty::store_u16le(p, std::uint16_t(bits >> 16));
    });
    auto back = humpty::parse_pth(bytes.data(), bytes.size(), "bf16.pth");
    REQUIRE(back.ok());
    CHECK(back->weight == coarse.weight);
  }
}

TEST_CASE("broken .pth files are rejected with a message naming the file", "[pth]") {
  humpty::Layer layer = test::random_layer(4, 3, 5);
  SECTION("not a zip at all") {
    std::string text = "this is not a pytorch file, just some text that is long enough";
    auto result =
        humpty::parse_pth(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), "text.pth");
    REQUIRE(!result.ok());
    CHECK(result.message().find("text.pth:") == 0);
  }
  SECTION("a storage shorter than the tensor needs") {
    auto bytes = humpty::write_zip({{"a/data.pkl", linear_pickle(4, 3, 4)},
                                    {"a/data/0", std::vector<std::uint8_t>(40)},
                                    {"a/data/1", std::vector<std::uint8_t>(16)}});
    auto result = humpty::parse_pth(bytes.data(), bytes.size(), "short.pth");
    REQUIRE(!result.ok());
    CHECK(result.message().find("short.pth:") == 0);
    CHECK(result.message().find("storage 'a/data/0' holds 40 bytes, expected 12 float32 values") !=
          std::string::npos);
  }
  SECTION("a bias that does not match the weight's rows") {
    auto bytes = humpty::write_zip({{"a/data.pkl", linear_pickle(4, 3, 5)},
                                    {"a/data/0", std::vector<std::uint8_t>(48)},
                                    {"a/data/1", std::vector<std::uint8_t>(20)}});
    auto result = humpty::parse_pth(bytes.data(), bytes.size(), "bias.pth");
    REQUIRE(!result.ok());
    CHECK(result.message() ==
          "bias.pth: tensor 'bias' has wrong shape: got [5], expected [4] (the weight's rows)");
  }
  SECTION("a state dict without a weight") {
    humpty::StateDict bias_only = {test::linear_state_dict(4, 3, 4)[1]};
    auto bytes = humpty::write_zip({{"a/data.pkl", humpty::write_state_dict_pickle(bias_only)},
                                    {"a/data/1", std::vector<std::uint8_t>(16)}});
    auto result = humpty::parse_pth(bytes.data(), bytes.size(), "bias_only.pth");
    REQUIRE(!result.ok());
    CHECK(result.message() == "bias_only.pth: not a Linear layer's state dict: no 'weight' tensor");
  }
  SECTION("missing file") {
    auto result = humpty::read_pth("/nonexistent/piece_0.pth");
    REQUIRE(!result.ok());
    CHECK(result.message() == "/nonexistent/piece_0.pth: cannot open: No such file or directory");
  }
}
