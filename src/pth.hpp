// pth.hpp - PyTorch .pth files holding one nn.Linear state dict: reading is in the public API
// (read_pth, parse_pth); here are the writer, for `humpty convert --format pth`, and what the
// readers of state dicts (.pth and .safetensors) share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "humpty/model.hpp"
#include "pickle.hpp"

namespace humpty {

// Layers with more weight elements than this are rejected as likely malformed.
constexpr std::uint64_t kMaxLayerElements = std::uint64_t(1) << 28;

// The bytes of a .pth file that torch.load reads as OrderedDict(weight=..., bias=...), float32,
// laid out as torch.save writes it (ZIP of stored entries under `<folder>/`, protocol-2 pickle).
std::vector<std::uint8_t> write_pth(const Layer& layer, const std::string& folder);

// What the readers of state dicts share (pth.cpp; also used by safetensors.cpp).

// "[2,3]": a tensor's shape in messages.
std::string shape_text(const std::vector<std::uint64_t>& shape);

// A storage's bytes in the file: `size` bytes at `offset`, called `label` in messages.
struct StorageBytes {
  const std::uint8_t* file = nullptr;
  std::uint64_t offset = 0, size = 0;
  std::string label;
};

// Copies a strided view of a storage into a dense float32 row-major vector, after checking that
// the storage holds what the tensor says and that every element the view touches lies inside it.
Status materialize(const StorageBytes& storage, const std::string& key, const TensorRef& ref,
                   const std::string& name, std::vector<float>& out);

// `fetch(key, ref, out)` materialises one tensor from wherever the file keeps its storage.
using FetchTensor =
    std::function<Status(const std::string& key, const TensorRef& ref, std::vector<float>& out)>;

// A Linear layer from its state dict: 'weight' (rows x cols) and, unless bias=False, 'bias'; any
// other key, a wrong shape or a value that is not finite is refused by name.
Result<Layer> layer_from_state_dict(const StateDict& tensors, const std::string& name,
                                    const FetchTensor& fetch);

}  // namespace humpty
