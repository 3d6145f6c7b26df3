// pickle.hpp - the `data.pkl` of a PyTorch state dict: read without executing anything, and written.
//
// torch.save pickles an OrderedDict whose values are rebuilt by calling
// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks), where each
// storage is a persistent id ('storage', torch.FloatStorage, key, location, numel) whose bytes live
// in the archive entry data/<key>. This module runs a pickle machine that knows only those calls
// (and the few that pickle a whole nn.Linear module): any other global, and any opcode PyTorch
// does not write for these, is rejected by name.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "humpty/result.hpp"

namespace humpty {

enum class DType { f32, f64, f16, bf16 };
const char* dtype_name(DType dtype);  // "float32", ...
std::size_t dtype_size(DType dtype);

// A tensor as the pickle describes it: a view (offset, shape, stride, in elements) of a storage.
struct TensorRef {
  std::string storage_key;
  DType dtype = DType::f32;
  std::uint64_t storage_elements = 0;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> stride;
};

using StateDict = std::vector<std::pair<std::string, TensorRef>>;  // in pickle order

// Pickles with more values than this are rejected as likely malformed.
constexpr std::size_t kMaxPickleValues = 1u << 20;
// Tensors with more dimensions than this are rejected.
constexpr std::size_t kMaxTensorDims = 8;

// Reads a state dict pickle (protocol 2, as torch.save writes it; protocol 4 framing accepted), or
// the pickle of a whole nn.Linear module (`torch.save(layer)`), whose `_parameters` are then the
// state dict; the module is never built, only its pickled attributes read. Errors read
// "name:offset: ..." with the byte offset of the opcode that failed.
Result<StateDict> read_state_dict_pickle(const std::uint8_t* data, std::size_t size, const std::string& name);

// The legacy format (torch.save before PyTorch 1.6, or with _use_new_zipfile_serialization=False):
// five pickles back to back - the magic number, the protocol version (1001), sys_info, the state
// dict (persistent ids with a sixth element, view_metadata, None), the list of storage keys - then
// each storage in that list's order as a little-endian u64 element count and its raw elements.
struct LegacyPickles {
  StateDict tensors;
  std::vector<std::string> storage_order;
  std::size_t data_offset = 0;  // where the first storage's count is
};
bool is_legacy_pth(const std::uint8_t* data, std::size_t size);  // starts with the magic pickle
Result<LegacyPickles> read_legacy_pickles(const std::uint8_t* data, std::size_t size,
                                          const std::string& name);

// Writes a protocol-2 pickle of an OrderedDict of float32 tensors, byte for byte the form
// torch.save uses (storage location "cpu", metadata {'': {'version': 1}}).
std::vector<std::uint8_t> write_state_dict_pickle(const StateDict& tensors);

}  // namespace humpty
