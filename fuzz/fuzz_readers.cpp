// libFuzzer harness for every reader of untrusted bytes: the .pth reader (ZIP, pickle, storages),
// the .humpty reader, the CSV reader, the answer and prefix parsers, the safetensors reader (JSON header,
// ranges) and the reader that tells layer formats apart. Build and run with `make fuzz`
// (clang with -fsanitize=fuzzer); the first input byte picks the reader.
#include <cstdint>
#include <string>
#include <string_view>

#include "humpty/humpty.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t* bytes = data + 1;
  const std::size_t length = size - 1;
  switch (data[0] % 6) {
    case 0:
      (void)humpty::parse_pth(bytes, length, "fuzz.pth");
      break;
    case 1:
      (void)humpty::parse_bundle(bytes, length, "fuzz.humpty");
      break;
    case 2:
      (void)humpty::parse_csv(std::string_view(reinterpret_cast<const char*>(bytes), length), "fuzz.csv");
      break;
    case 3: {
      static const humpty::Puzzle puzzle = [] {
        std::vector<humpty::Layer> pieces(5);
        for (std::size_t k = 0; k < 5; ++k) {
          bool inp = k % 2 == 0 && k < 4;
          pieces[k].rows = k == 4 ? 1 : inp ? 3 : 2;
          pieces[k].cols = k == 4 ? 2 : inp ? 2 : 3;
          pieces[k].weight.assign(pieces[k].rows * pieces[k].cols, 0.5f);
          pieces[k].bias.assign(pieces[k].rows, 0.1f);
        }
        return *humpty::make_puzzle(std::move(pieces), "fuzz");
      }();
      const std::string_view text(reinterpret_cast<const char*>(bytes), length);
      (void)humpty::parse_answer(text, puzzle, "fuzz");
      (void)humpty::parse_blocks(text, puzzle, "fuzz");
      break;
    }
    case 4:
      (void)humpty::parse_safetensors(bytes, length, "fuzz.safetensors");
      break;
    case 5:
      (void)humpty::parse_layer(bytes, length, "fuzz.pt");
      break;
  }
  return 0;
}
