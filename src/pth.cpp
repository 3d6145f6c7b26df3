#include "pth.hpp"

#include <cstring>
#include <map>

#include "finite.hpp"
#include "io.hpp"
#include "pickle.hpp"
#include "safetensors.hpp"
#include "text.hpp"
#include "zip.hpp"

namespace humpty {
namespace {

float half_to_float(std::uint16_t h) {
  std::uint32_t sign = std::uint32_t(h & 0x8000) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1F;
  std::uint32_t mantissa = h & 0x3FF;
  std::uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf or nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (std::uint32_t(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float element_to_float(const std::uint8_t* p, DType dtype) {
  switch (dtype) {
    case DType::f32: {
      std::uint32_t bits = load_u32le(p);
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case DType::f64: {
      std::uint64_t bits = load_u64le(p);
      double d;
      std::memcpy(&d, &bits, 8);
      return float(d);
    }
    case DType::f16:
      return half_to_float(load_u16le(p));
    case DType::bf16: {
      std::uint32_t bits = std::uint32_t(load_u16le(p)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
  }
  return 0;
}

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

Status materialize(const StorageBytes& storage, const std::string& key, const TensorRef& ref,
                   const std::string& name, std::vector<float>& out) {
  std::size_t element = dtype_size(ref.dtype);
  if (ref.storage_elements > kMaxLayerElements || storage.size != ref.storage_elements * element) {
    return Status::failure(name + ":" + std::to_string(storage.offset) + ": storage " +
                           quoted(storage.label) + " holds " + std::to_string(storage.size) +
                           " bytes, expected " + std::to_string(ref.storage_elements) + " " +
                           dtype_name(ref.dtype) + " values");
  }
  std::uint64_t count = 1, last = ref.offset;
  for (std::size_t d = 0; d < ref.shape.size(); ++d) {
    if (ref.shape[d] == 0) {
      count = 0;
      break;
    }
    if (ref.stride[d] > kMaxLayerElements) {
      return Status::failure(name + ": tensor " + quoted(key) + " of shape " + shape_text(ref.shape) + " has stride " +
                             std::to_string(ref.stride[d]) + " on axis " + std::to_string(d) +
                             ", more than the limit of " + std::to_string(kMaxLayerElements) +
                             " elements; likely malformed");
    }
    if (ref.shape[d] > kMaxLayerElements || count > kMaxLayerElements / ref.shape[d]) {
      return Status::failure(name + ": tensor " + quoted(key) + " of shape " + shape_text(ref.shape) +
                             " is larger than the limit of " + std::to_string(kMaxLayerElements) +
                             " elements; likely malformed");
    }
    count *= ref.shape[d];
    last += (ref.shape[d] - 1) * ref.stride[d];
  }
  if (count > 0 && last >= ref.storage_elements) {
    return Status::failure(name + ": tensor " + quoted(key) + " of shape " + shape_text(ref.shape) + " at offset " +
                           std::to_string(ref.offset) + " reaches element " + std::to_string(last) +
                           " of a storage of " + std::to_string(ref.storage_elements));
  }
  out.resize(std::size_t(count));
  const std::uint8_t* base = storage.file + storage.offset;
  bool contiguous = true;
  for (std::size_t d = 0, expected = 1; d < ref.shape.size(); ++d) {
    std::size_t axis = ref.shape.size() - 1 - d;
    if (ref.shape[axis] != 1 && ref.stride[axis] != expected) contiguous = false;
    expected *= std::size_t(ref.shape[axis]);
  }
  if (contiguous && ref.dtype == DType::f32) {  // the common case: no index arithmetic
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = element_to_float(base + (ref.offset + i) * 4, DType::f32);
    return Status();
  }
  std::vector<std::uint64_t> index(ref.shape.size(), 0);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t at = ref.offset;
    for (std::size_t d = 0; d < index.size(); ++d) at += index[d] * ref.stride[d];
    out[std::size_t(i)] = element_to_float(base + at * element, ref.dtype);
    for (std::size_t d = index.size(); d-- > 0;) {
      if (++index[d] < ref.shape[d]) break;
      index[d] = 0;
    }
  }
  return Status();
}

Result<Layer> layer_from_state_dict(const StateDict& tensors, const std::string& name,
                                    const FetchTensor& fetch) {
  const TensorRef* weight = nullptr;
  const TensorRef* bias = nullptr;
  for (const auto& [key, ref] : tensors) {
    if (key == "weight") {
      weight = &ref;
    } else if (key == "bias") {
      bias = &ref;
    } else {
      return Status::failure(name + ": unexpected tensor " + quoted(key) +
                             ": a Linear layer's state dict holds only 'weight' and 'bias'");
    }
  }
  if (!weight) {
    return Status::failure(name + ": not a Linear layer's state dict: no 'weight' tensor");
  }
  if (weight->shape.size() != 2 || weight->shape[0] == 0 || weight->shape[1] == 0) {
    return Status::failure(name + ": tensor 'weight' has wrong shape: got " + shape_text(weight->shape) +
                           ", expected [rows,cols] with rows, cols > 0");
  }
  if (bias && (bias->shape.size() != 1 || bias->shape[0] != weight->shape[0])) {
    return Status::failure(name + ": tensor 'bias' has wrong shape: got " + shape_text(bias->shape) +
                           ", expected [" + std::to_string(weight->shape[0]) + "] (the weight's rows)");
  }
  Layer layer;
  if (auto status = fetch("weight", *weight, layer.weight); !status) return status;
  if (bias) {
    if (auto status = fetch("bias", *bias, layer.bias); !status) return status;
  } else {
    // nn.Linear(..., bias=False): its state dict holds the weight alone.
    layer.has_bias = false;
    layer.bias.assign(std::size_t(weight->shape[0]), 0.0f);
  }
  layer.rows = std::size_t(weight->shape[0]);
  layer.cols = std::size_t(weight->shape[1]);
  if (std::string bad = describe_non_finite(layer.weight, layer.cols, layer.bias); !bad.empty()) {
    // (A float64 beyond float32's range has become Inf in the conversion: also refused.)
    return Status::failure(name + ": tensor " + bad + ": layer values must be finite");
  }
  return layer;
}

namespace {

// The legacy format (pickle.hpp): the storages follow the pickles, each as a u64 element count
// and its elements, in the order of the storage key list.
Result<Layer> parse_legacy_pth(const std::uint8_t* data, std::size_t size, const std::string& name) {
  auto pickles = read_legacy_pickles(data, size, name);
  if (!pickles) return pickles.status();
  // Each storage's element size is its type's, which only the tensors that use it tell. (A map,
  // not a scan per key: a hostile file may list a million keys.)
  std::map<std::string, const TensorRef*> users;
  for (const auto& entry : pickles->tensors) users.emplace(entry.second.storage_key, &entry.second);
  std::map<std::string, StorageBytes> storages;
  std::uint64_t pos = pickles->data_offset;
  for (const std::string& key : pickles->storage_order) {
    auto found = users.find(key);
    if (found == users.end())
      return Status::failure(name + ": storage " + quoted(key) + " is used by no tensor");
    const TensorRef* user = found->second;
    if (size - pos < 8) {
      return Status::failure(name + ":" + std::to_string(pos) + ": storage " + quoted(key) +
                             ": its element count runs past the end of the file");
    }
    const std::uint64_t count = load_u64le(data + pos), element = dtype_size(user->dtype);
    if (count > kMaxLayerElements || (size - pos - 8) / element < count) {
      return Status::failure(name + ":" + std::to_string(pos) + ": storage " + quoted(key) + " of " +
                             std::to_string(count) + " " + dtype_name(user->dtype) +
                             " values runs past the end of the file");
    }
    if (!storages.emplace(key, StorageBytes{data, pos + 8, count * element, key}).second) {
      return Status::failure(name + ": storage " + quoted(key) + " is listed twice");
    }
    pos += 8 + count * element;
  }
  if (pos != size) {
    return Status::failure(name + ":" + std::to_string(pos) + ": " + std::to_string(size - pos) +
                           " bytes left over after the last storage");
  }
  return layer_from_state_dict(
      pickles->tensors, name, [&](const std::string& key, const TensorRef& ref, std::vector<float>& out) {
        auto found = storages.find(ref.storage_key);
        if (found == storages.end()) {
          return Status::failure(name + ": tensor " + quoted(key) + " uses storage " +
                                 quoted(ref.storage_key) + ", which the file's storage list does not hold");
        }
        return materialize(found->second, key, ref, name, out);
      });
}

}  // namespace

Result<Layer> parse_pth(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (is_legacy_pth(data, size)) return parse_legacy_pth(data, size, name);
  auto zip = read_zip(data, size, name);
  if (!zip) return zip.status();
  // The pickle is <folder>/data.pkl; the folder is "archive/" in new PyTorch, the file's stem in
  // older versions, and every other entry lives under it.
  const ZipEntry* pickle = nullptr;
  std::string folder;
  for (const auto& entry : zip->entries) {
    std::size_t slash = entry.name.find('/');
    if (slash != std::string::npos && entry.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (pickle) {
        return Status::failure(name + ": two pickles in one archive (" + quoted(pickle->name) + " and '" +
                               entry.name + "')");
      }
      pickle = &entry;
      folder = entry.name.substr(0, slash + 1);
    }
  }
  if (!pickle) {
    return Status::failure(name + ": not a PyTorch file: the ZIP archive has no '<folder>/data.pkl'");
  }
  if (const ZipEntry* order = zip->find(folder + "byteorder")) {
    if (auto status = require_stored(*order, name); !status) return status;
    std::string text(reinterpret_cast<const char*>(data + order->data_offset), std::size_t(order->size));
    if (text != "little") {
      return Status::failure(name + ": storages are stored " + quoted(text) +
                             "-endian; only little-endian is supported");
    }
  }
  if (auto status = check_zip_crc(data, *pickle, name); !status) return status;
  auto tensors = read_state_dict_pickle(data + pickle->data_offset, std::size_t(pickle->size),
                                        name + "(" + pickle->name + ")");
  if (!tensors) return tensors.status();

  return layer_from_state_dict(
      *tensors, name, [&](const std::string& key, const TensorRef& ref, std::vector<float>& out) {
        std::string entry_name = folder + "data/" + ref.storage_key;
        const ZipEntry* entry = zip->find(entry_name);
        if (!entry) {
          return Status::failure(name + ": tensor " + quoted(key) + " uses storage " +
                                 quoted(ref.storage_key) + ", but the archive has no entry " +
                                 quoted(entry_name) + "");
        }
        if (auto status = require_stored(*entry, name); !status) return status;
        if (entry->size == ref.storage_elements * dtype_size(ref.dtype)) {
          if (auto status = check_zip_crc(data, *entry, name); !status) return status;
        }
        return materialize({data, entry->data_offset, entry->size, entry_name}, key, ref, name, out);
      });
}

Result<Layer> parse_layer(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const bool zip = size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0;
  if (zip || is_legacy_pth(data, size)) return parse_pth(data, size, name);
  if (looks_like_safetensors(data, size)) return parse_safetensors(data, size, name);
  // None of them: the error of the format the name promises.
  const std::string suffix = ".safetensors";
  const bool named =
      name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  return named ? parse_safetensors(data, size, name) : parse_pth(data, size, name);
}

Result<Layer> read_layer(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.status();
  return parse_layer(bytes->data(), bytes->size(), path);
}

Result<Layer> read_pth(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.status();
  return parse_pth(bytes->data(), bytes->size(), path);
}

std::vector<std::uint8_t> write_pth(const Layer& layer, const std::string& folder) {
  auto floats = [](const std::vector<float>& values) {
    ByteWriter out;
    for (float v : values) out.f32(v);
    return std::move(out.bytes());
  };
  StateDict tensors;
  TensorRef weight;
  weight.storage_key = "0";
  weight.storage_elements = layer.weight.size();
  weight.shape = {layer.rows, layer.cols};
  weight.stride = {layer.cols, 1};
  TensorRef bias;
  bias.storage_key = "1";
  bias.storage_elements = layer.bias.size();
  bias.shape = {layer.rows};
  bias.stride = {1};
  tensors.emplace_back("weight", weight);
  if (layer.has_bias) tensors.emplace_back("bias", bias);
  std::vector<ZipFile> files;
  const std::string prefix = folder + "/";
  files.push_back({prefix + "data.pkl", write_state_dict_pickle(tensors)});
  files.push_back({prefix + ".format_version", {'1'}});
  files.push_back({prefix + ".storage_alignment", {'6', '4'}});
  files.push_back({prefix + "byteorder", {'l', 'i', 't', 't', 'l', 'e'}});
  files.push_back({prefix + "data/0", floats(layer.weight)});
  if (layer.has_bias) files.push_back({prefix + "data/1", floats(layer.bias)});
  files.push_back({prefix + "version", {'3', '\n'}});
  return write_zip(files);
}

}  // namespace humpty
