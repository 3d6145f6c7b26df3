// safetensors.cpp - Hugging Face's .safetensors files holding one nn.Linear state dict
// (`safetensors.torch.save_file(layer.state_dict(), path)`), read and written.
//
// The format: an 8-byte little-endian length n, n bytes of JSON (an object mapping each tensor's
// name to {"dtype", "shape", "data_offsets"}, plus an optional "__metadata__" object of strings;
// padded with spaces), then the tensors' bytes, little-endian and row-major, each at its
// [begin, end) offsets counted from the end of the header. We check what the reference reader
// checks (the ranges sorted by begin cover the data exactly, without gaps or overlaps; each range
// holds exactly its shape's elements; the header is UTF-8 and at most 100 MB) and are stricter
// where it would be lenient: a name given twice or a field we do not know is refused by name.
#include "safetensors.hpp"

#include <algorithm>
#include <cstring>

#include "assert.hpp"
#include "humpty/model.hpp"
#include "io.hpp"
#include "pth.hpp"
#include "text.hpp"

namespace humpty {
namespace {

// The reference implementation's limit; real headers are a few hundred bytes here.
constexpr std::uint64_t kMaxHeader = 100'000'000;

// The reference implementation's names for the types we convert to float32.
constexpr struct {
  DType dtype;
  const char* name;
} kDTypeNames[] = {{DType::f32, "F32"}, {DType::f64, "F64"}, {DType::f16, "F16"}, {DType::bf16, "BF16"}};

bool dtype_from_name(const std::string& text, DType& dtype) {
  for (const auto& entry : kDTypeNames) {
    if (text == entry.name) {
      dtype = entry.dtype;
      return true;
    }
  }
  return false;
}

const char* safetensors_dtype(DType dtype) {
  for (const auto& entry : kDTypeNames) {
    if (entry.dtype == dtype) return entry.name;
  }
  return "?";
}

// True when the bytes are well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(const std::uint8_t* p, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    const std::uint8_t c = p[i];
    std::size_t extra;
    std::uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (size - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i + k] & 0x3F);
    }
    static const std::uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
    if (code < smallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

struct TensorEntry {
  std::string key;
  std::uint64_t at = 0;  // where its entry starts in the file, for messages
  bool has_dtype = false, has_shape = false, has_offsets = false;
  DType dtype = DType::f32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

// A reader of exactly the JSON a safetensors header may hold: objects, arrays, strings and
// non-negative integers, nested as the format nests them (so no recursion to exhaust). Errors
// name the file offset of the offending byte.
class Header {
 public:
  Header(const std::uint8_t* text, std::size_t size, std::uint64_t base, const std::string& name)
      : text_(text), size_(size), base_(base), name_(name) {}

  Status parse(std::vector<TensorEntry>& tensors) {
    skip_space();
    bool metadata_seen = false;
    Status status = object("the header is not a JSON object", "after a header entry", "a tensor name",
                           [&](const std::string& key, std::uint64_t at) {
                             if (key == "__metadata__") {
                               if (metadata_seen) return fail_at(at, "'__metadata__' is given twice");
                               metadata_seen = true;
                               return metadata();
                             }
                             for (const TensorEntry& seen : tensors) {
                               if (seen.key == key)
                                 return fail_at(at, "tensor " + quoted(key) + " is given twice");
                             }
                             // Two tensors already fill a Linear layer; a long list is refused by
                             // the layer's checks later, but must not cost quadratic time first.
                             if (tensors.size() >= 64) {
                               return fail_at(at, "more than 64 tensors; not one Linear layer");
                             }
                             TensorEntry entry;
                             entry.key = key;
                             entry.at = at;
                             if (Status s = tensor(entry); !s) return s;
                             tensors.push_back(std::move(entry));
                             return Status();
                           });
    if (!status) return status;
    skip_space();  // the writer pads the header with spaces to a multiple of 8 bytes
    if (pos_ != size_) return fail("unexpected bytes after the header's JSON object");
    return Status();
  }

 private:
  std::uint64_t place() const { return base_ + pos_; }
  Status fail(const std::string& what) const { return fail_at(place(), what); }
  Status fail_at(std::uint64_t at, const std::string& what) const {
    return Status::failure(name_ + ":" + std::to_string(at) + ": " + what);
  }
  void skip_space() {
    while (pos_ < size_ &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool take(char c) {
    if (pos_ < size_ && text_[pos_] == std::uint8_t(c)) {
      ++pos_;
      return true;
    }
    return false;
  }
  Status colon() {
    skip_space();
    if (!take(':')) return fail("expected ':' after a name in the header");
    skip_space();
    return Status();
  }

  Status string(std::string& out, const char* what) {
    if (!take('"')) return fail(std::string("expected ") + what + " (a JSON string)");
    for (;;) {
      if (pos_ >= size_) return fail("a string runs past the end of the header");
      const std::uint8_t c = text_[pos_++];
      if (c == '"') return Status();
      if (c < 0x20) return fail("a control byte inside a string");
      if (c != '\\') {
        out += char(c);
        continue;
      }
      if (pos_ >= size_) return fail("a string runs past the end of the header");
      const std::uint8_t e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += char(e);
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t code;
          if (Status s = hex4(code); !s) return s;
          if (code >= 0xD800 && code <= 0xDBFF) {  // a surrogate pair's first half
            std::uint32_t low;
            if (!take('\\') || !take('u')) return fail("an unpaired surrogate in a string");
            if (Status s = hex4(low); !s) return s;
            if (low < 0xDC00 || low > 0xDFFF) return fail("an unpaired surrogate in a string");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            return fail("an unpaired surrogate in a string");
          }
          append_utf8(out, code);
          break;
        }
        default:
          return fail("an unknown escape in a string");
      }
    }
  }
  Status hex4(std::uint32_t& code) {
    code = 0;
    for (int k = 0; k < 4; ++k) {
      if (pos_ >= size_) return fail("a string runs past the end of the header");
      const std::uint8_t c = text_[pos_++];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return fail("a \\u escape needs four hex digits");
      code = code * 16 + std::uint32_t(digit);
    }
    return Status();
  }
  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }

  // `{}` or `{"name": value, ...}`: member(name, at) reads each value, `at` being where its name
  // starts. The messages: `not_object` when there is no '{', and where a ',' or '}' was expected.
  template <typename Member>
  Status object(const std::string& not_object, const std::string& where, const char* name_kind,
                Member member) {
    if (!take('{')) return fail(not_object);
    skip_space();
    if (take('}')) return Status();
    for (;;) {
      const std::uint64_t at = place();
      std::string name;
      if (Status s = string(name, name_kind); !s) return s;
      if (Status s = colon(); !s) return s;
      if (Status s = member(name, at); !s) return s;
      skip_space();
      if (take('}')) return Status();
      if (!take(',')) return fail("expected ',' or '}' " + where);
      skip_space();
    }
  }

  // A non-negative integer as JSON writes it (no sign, no leading zeros, no fraction or exponent).
  Status integer(std::uint64_t& value, const char* what) {
    const std::uint64_t at = place();
    if (pos_ >= size_ || text_[pos_] < '0' || text_[pos_] > '9') {
      return fail(std::string("expected ") + what + " (a non-negative integer)");
    }
    if (text_[pos_] == '0' && pos_ + 1 < size_ && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9') {
      return fail(std::string(what) + " has a leading zero");
    }
    value = 0;
    while (pos_ < size_ && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const std::uint64_t digit = text_[pos_] - '0';
      if (value > (UINT64_MAX - digit) / 10) return fail_at(at, std::string(what) + " is too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ < size_ && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return fail_at(at, std::string(what) + " is not an integer");
    }
    return Status();
  }
  // [n, n, ...] of non-negative integers, at most `most` of them.
  Status integers(std::vector<std::uint64_t>& out, const char* what, std::size_t most) {
    if (!take('[')) return fail(std::string("expected ") + what + " (a JSON array)");
    skip_space();
    if (take(']')) return Status();
    for (;;) {
      if (out.size() == most)
        return fail(std::string(what) + " has more than " + std::to_string(most) + " entries");
      std::uint64_t value;
      if (Status s = integer(value, what); !s) return s;
      out.push_back(value);
      skip_space();
      if (take(']')) return Status();
      if (!take(',')) return fail(std::string("expected ',' or ']' in ") + what);
      skip_space();
    }
  }

  // {"name": "text", ...}: the reference format allows strings only; we keep none of it.
  Status metadata() {
    return object("'__metadata__' must be an object of strings", "in '__metadata__'", "a metadata name",
                  [&](const std::string&, std::uint64_t) {
                    std::string value;
                    return string(value, "a metadata value");
                  });
  }

  Status tensor(TensorEntry& entry) {
    const std::string who = "tensor " + quoted(entry.key);
    Status status = object(who + ": expected an object with dtype, shape and data_offsets", "in " + who,
                           "a field name", [&](const std::string& field, std::uint64_t at) {
                             bool* seen = field == "dtype"          ? &entry.has_dtype
                                          : field == "shape"        ? &entry.has_shape
                                          : field == "data_offsets" ? &entry.has_offsets
                                                                    : nullptr;
                             if (!seen) return fail_at(at, who + ": unknown field " + quoted(field));
                             if (*seen)
                               return fail_at(at, who + ": field " + quoted(field) + " is given twice");
                             *seen = true;
                             if (field == "dtype") {
                               const std::uint64_t type_at = place();
                               std::string type;
                               if (Status s = string(type, "the dtype"); !s) return s;
                               if (!dtype_from_name(type, entry.dtype)) {
                                 return fail_at(type_at, who + " has dtype " + quoted(type) +
                                                             "; only F32, F64, F16 and BF16 are read");
                               }
                             } else if (field == "shape") {
                               // A Linear layer's tensors have one or two axes; eight is far beyond any real
                               // one.
                               if (Status s = integers(entry.shape, "the shape", 8); !s) return s;
                             } else {
                               std::vector<std::uint64_t> offsets;
                               if (Status s = integers(offsets, "data_offsets", 2); !s) return s;
                               if (offsets.size() != 2)
                                 return fail_at(at, who + ": data_offsets must be [begin, end]");
                               entry.begin = offsets[0];
                               entry.end = offsets[1];
                             }
                             return Status();
                           });
    if (!status) return status;
    if (!entry.has_dtype || !entry.has_shape || !entry.has_offsets) {
      return fail_at(entry.at, who + " lacks " +
                                   (!entry.has_dtype   ? "dtype"
                                    : !entry.has_shape ? "shape"
                                                       : "data_offsets"));
    }
    return Status();
  }

  const std::uint8_t* text_;
  std::size_t size_;
  std::uint64_t base_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

}  // namespace

bool looks_like_safetensors(const std::uint8_t* data, std::size_t size) {
  // A ZIP starts with "PK", a legacy .pth with the pickle opcode 0x80; a safetensors header with
  // its length, then '{'.
  return size >= 9 && data[8] == '{';
}

Result<Layer> parse_safetensors(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (size < 8) {
    return Status::failure(name + ": not a safetensors file: " + std::to_string(size) +
                           " bytes, fewer than the 8 of the header's length");
  }
  const std::uint64_t n = load_u64le(data);
  if (n > kMaxHeader) {
    return Status::failure(name + ":0: the header's length " + std::to_string(n) + " is above the limit of " +
                           std::to_string(kMaxHeader) + " bytes; not a safetensors file");
  }
  if (n > size - 8) {
    return Status::failure(name + ":0: the header's length " + std::to_string(n) +
                           " runs past the end of the file (" + std::to_string(size) + " bytes)");
  }
  if (!valid_utf8(data + 8, std::size_t(n))) {
    return Status::failure(name + ":8: the header is not UTF-8 text");
  }
  std::vector<TensorEntry> entries;
  if (Status s = Header(data + 8, std::size_t(n), 8, name).parse(entries); !s) return s;

  // The ranges, sorted by where they begin, must tile the data exactly.
  const std::uint64_t base = 8 + n, data_size = size - base;
  std::vector<const TensorEntry*> sorted;
  for (const TensorEntry& entry : entries) sorted.push_back(&entry);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  for (const TensorEntry* entry : sorted) {
    const std::string who = name + ":" + std::to_string(entry->at) + ": tensor " + quoted(entry->key);
    if (entry->end < entry->begin) {
      return Status::failure(who + ": data_offsets [" + std::to_string(entry->begin) + ", " +
                             std::to_string(entry->end) + "] end before they begin");
    }
    if (entry->begin != covered) {
      return Status::failure(who + ": data_offsets begin at " + std::to_string(entry->begin) + ", expected " +
                             std::to_string(covered) +
                             (entry->begin > covered ? " (a gap)" : " (an overlap)"));
    }
    std::uint64_t count = 1;
    for (std::uint64_t axis : entry->shape) {
      if (axis != 0 && count > kMaxLayerElements / axis) {
        return Status::failure(who + " of shape " + shape_text(entry->shape) +
                               " is larger than the limit of " + std::to_string(kMaxLayerElements) +
                               " elements; likely malformed");
      }
      count *= axis;
    }
    if (entry->end - entry->begin != count * dtype_size(entry->dtype)) {
      return Status::failure(who + ": data_offsets [" + std::to_string(entry->begin) + ", " +
                             std::to_string(entry->end) + "] hold " +
                             std::to_string(entry->end - entry->begin) + " bytes, but shape " +
                             shape_text(entry->shape) + " of " + safetensors_dtype(entry->dtype) + " needs " +
                             std::to_string(count * dtype_size(entry->dtype)));
    }
    covered = entry->end;
    if (covered > data_size) {
      return Status::failure(who + ": data_offsets end at " + std::to_string(covered) + ", past the " +
                             std::to_string(data_size) + " bytes of data after the header");
    }
  }
  if (covered != data_size) {
    return Status::failure(name + ":" + std::to_string(base + covered) + ": " +
                           std::to_string(data_size - covered) +
                           " bytes after the last tensor belong to none");
  }

  // Each tensor is its own dense row-major storage: the state dict the pth reader checks.
  StateDict tensors;
  for (const TensorEntry& entry : entries) {
    TensorRef ref;
    ref.storage_key = entry.key;
    ref.dtype = entry.dtype;
    ref.shape = entry.shape;
    ref.stride.assign(entry.shape.size(), 1);
    for (std::size_t d = entry.shape.size(); d-- > 1;) ref.stride[d - 1] = ref.stride[d] * entry.shape[d];
    ref.storage_elements = (entry.end - entry.begin) / dtype_size(entry.dtype);
    tensors.emplace_back(entry.key, std::move(ref));
  }
  return layer_from_state_dict(
      tensors, name, [&](const std::string& key, const TensorRef& ref, std::vector<float>& out) {
        const auto found =
            std::find_if(entries.begin(), entries.end(), [&](const TensorEntry& e) { return e.key == key; });
        HUMPTY_ASSERT(found != entries.end());  // the state dict was made from `entries`
        return materialize({data, base + found->begin, found->end - found->begin, key}, key, ref, name, out);
      });
}

Result<Layer> read_safetensors(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.status();
  return parse_safetensors(bytes->data(), bytes->size(), path);
}

std::vector<std::uint8_t> write_safetensors(const Layer& layer) {
  // As the reference writer lays it out: tensors sorted by name (bias, then weight), no metadata,
  // the header padded with spaces to a multiple of 8 bytes.
  const std::uint64_t bias_bytes = layer.has_bias ? 4 * std::uint64_t(layer.rows) : 0;
  const std::uint64_t weight_bytes = 4 * std::uint64_t(layer.rows) * layer.cols;
  std::string header = "{";
  if (layer.has_bias) {
    header += "\"bias\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(layer.rows) +
              "],\"data_offsets\":[0," + std::to_string(bias_bytes) + "]},";
  }
  header += "\"weight\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(layer.rows) + "," +
            std::to_string(layer.cols) + "],\"data_offsets\":[" + std::to_string(bias_bytes) + "," +
            std::to_string(bias_bytes + weight_bytes) + "]}}";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  ByteWriter out;
  out.u64(header.size());
  out.text(header);
  if (layer.has_bias) {
    for (float v : layer.bias) out.f32(v);
  }
  for (float v : layer.weight) out.f32(v);
  return std::move(out.bytes());
}

}  // namespace humpty
