#include "catch.hpp"
#include "pickle.hpp"
#include "support.hpp"

using humpty::read_state_dict_pickle;

namespace {

humpty::Result<humpty::StateDict> read(const std::string& bytes) {
  return read_state_dict_pickle(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "t.pkl");
}

}  // namespace

TEST_CASE("a state dict pickle round-trips through the writer and the reader", "[pickle]") {
  for (auto [rows, cols] : {std::pair<std::uint64_t, std::uint64_t>{3, 2}, {96, 48}, {300, 70000}}) {
    auto bytes = humpty::write_state_dict_pickle(test::linear_state_dict(rows, cols, rows));
    auto dict = read_state_dict_pickle(bytes.data(), bytes.size(), "w.pkl");
    REQUIRE(dict.ok());
    REQUIRE(dict->size() == 2);
    CHECK((*dict)[0].first == "weight");
    CHECK((*dict)[0].second.shape == std::vector<std::uint64_t>{rows, cols});
    CHECK((*dict)[0].second.stride == std::vector<std::uint64_t>{cols, 1});
    CHECK((*dict)[0].second.storage_elements == rows * cols);
    CHECK((*dict)[0].second.dtype == humpty::DType::f32);
    CHECK((*dict)[1].first == "bias");
    CHECK((*dict)[1].second.storage_key == "1");
  }
}

TEST_CASE("the pickle reader refuses anything that is not a tensor state dict", "[pickle]") {
  SECTION("a global outside the allow-list is refused by name") {
    auto dict = read(std::string("\x80\x02", 2) + "cos\nsystem\n" +
                     std::string("X\x02\x00\x00\x00"
                                 "ls\x85R.",
                                 10));
    REQUIRE(!dict.ok());
    CHECK(dict.message() ==
          "t.pkl:2: pickle refers to 'os.system', which is not part of a PyTorch state dict or nn.Linear "
          "module; "
          "refusing it");
  }
  SECTION("an integer storage type is refused with the dtypes that work") {
    auto dict = read(std::string("\x80\x02", 2) + "ctorch\nLongStorage\n.");
    REQUIRE(!dict.ok());
    CHECK(dict.message().find("tensor storage type 'torch.LongStorage' is not supported") !=
          std::string::npos);
  }
  SECTION("an opcode PyTorch does not write is refused by name") {
    auto dict = read(std::string("\x80\x02", 2) + "\x91");
    REQUIRE(!dict.ok());
    CHECK(dict.message() ==
          "t.pkl:2: pickle opcode FROZENSET (0x91) is not used by PyTorch state dicts; refusing it");
    // NEWOBJ makes an nn.Linear module and nothing else, even of an allowed global.
    auto other = read(std::string("\x80\x02", 2) + "ccollections\nOrderedDict\n)\x81.");
    REQUIRE(!other.ok());
    CHECK(other.message() ==
          "t.pkl:28: NEWOBJ makes a 'collections.OrderedDict'; only an nn.Linear module is understood");
    auto unknown = read(std::string("\x80\x02\xff", 3));
    REQUIRE(!unknown.ok());
    CHECK(unknown.message() == "t.pkl:2: unknown pickle opcode 0xff");
  }
  SECTION("truncated input") {
    auto full = humpty::write_state_dict_pickle(test::linear_state_dict(2, 2, 2));
    for (std::size_t cut :
         {std::size_t(0), std::size_t(1), std::size_t(5), full.size() / 2, full.size() - 1}) {
      auto dict = read_state_dict_pickle(full.data(), cut, "cut.pkl");
      CHECK(!dict.ok());
    }
  }
  SECTION("protocol 1 and a memo entry never stored") {
    CHECK(read(std::string("\x80\x01.", 3)).message().find("pickle protocol 1 is not supported") !=
          std::string::npos);
    CHECK(read(std::string("\x80\x02h\x05.", 5)).message() ==
          "t.pkl:2: BINGET of memo entry 5, which was never stored");
  }
  SECTION("a dict of something other than tensors") {
    auto dict =
        read(std::string("\x80\x02}X\x01\x00\x00\x00"
                         "aK\x01s.",
                         13));
    REQUIRE(!dict.ok());
    CHECK(dict.message().find("state dict entry 'a' is a int, not a tensor") != std::string::npos);
  }
  SECTION("stack underflow") {
    CHECK(read(std::string("\x80\x02t.", 4)).message().find("needs a MARK") != std::string::npos);
    CHECK(read(std::string("\x80\x02R", 3)).message().find("stack underflow") != std::string::npos);
  }
}
