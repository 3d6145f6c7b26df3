// pth.hpp - PyTorch .pth files holding one nn.Linear state dict: reading is in the public API
// (read_pth, parse_pth); this is the writer, for `humpty convert --format pth`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "humpty/model.hpp"

namespace humpty {

// Layers with more weight elements than this are rejected as likely malformed.
constexpr std::uint64_t kMaxLayerElements = std::uint64_t(1) << 28;

// The bytes of a .pth file that torch.load reads as OrderedDict(weight=..., bias=...), float32,
// laid out as torch.save writes it (ZIP of stored entries under `<folder>/`, protocol-2 pickle).
std::vector<std::uint8_t> write_pth(const Layer& layer, const std::string& folder);

}  // namespace humpty
