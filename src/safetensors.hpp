// safetensors.hpp - Hugging Face's .safetensors files holding one nn.Linear state dict: reading
// is in the public API (read_safetensors, parse_safetensors, and read_layer, which tells the
// formats apart); these are the content test and the writer, for `humpty convert --format
// safetensors`.
#pragma once

#include <cstdint>
#include <vector>

#include "humpty/model.hpp"

namespace humpty {

// True when the bytes start as a safetensors file does: a length, then the header's '{'.
bool looks_like_safetensors(const std::uint8_t* data, std::size_t size);

// The bytes of a .safetensors file that safetensors.torch.load_file reads as {weight, bias}
// (float32; without bias for a bias-free layer), laid out as the reference writer lays it out.
std::vector<std::uint8_t> write_safetensors(const Layer& layer);

}  // namespace humpty
