#include "pickle.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "io.hpp"
#include "text.hpp"

namespace humpty {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "float32";
    case DType::f64:
      return "float64";
    case DType::f16:
      return "float16";
    case DType::bf16:
      return "bfloat16";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
  }
  return 0;
}

namespace {

// A legacy file's first pickle holds torch's magic number 0x1950a86a20f9469cfc6c: this is its body
// (LONG1 of 10 bytes, STOP), after PROTO 2 by default, or another protocol a caller asks for
// (pickle_protocol=4 and 5 put a FRAME before it).
const std::uint8_t kLegacyMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                     0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
// The protocol version pickle's body: BININT2 1001, STOP (the only version torch.save has written).
const std::uint8_t kVersion1001[] = {'M', 0xe9, 0x03, '.'};

// The length of a pickle `body` that data starts with: PROTO 2 to 5, for 4 and 5 a FRAME of the
// body's length, then the body; 0 if data does not start so.
std::size_t pickled_length(const std::uint8_t* data, std::size_t size, const std::uint8_t* body,
                           std::size_t body_size) {
  if (size < 2 || data[0] != 0x80 || data[1] < 2 || data[1] > 5) return 0;
  std::size_t pos = 2;
  if (data[1] >= 4) {
    if (size - pos < 9 || data[pos] != 0x95 || load_u64le(data + pos + 1) != body_size) return 0;
    pos += 9;
  }
  if (size - pos < body_size || std::memcmp(data + pos, body, body_size) != 0) return 0;
  return pos + body_size;
}

// Opcode names (Python's pickletools), so that a rejected opcode is reported by name.
const char* opcode_name(std::uint8_t op) {
  switch (op) {
    case '(':
      return "MARK";
    case '.':
      return "STOP";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'F':
      return "FLOAT";
    case 'I':
      return "INT";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'L':
      return "LONG";
    case 'M':
      return "BININT2";
    case 'N':
      return "NONE";
    case 'P':
      return "PERSID";
    case 'Q':
      return "BINPERSID";
    case 'R':
      return "REDUCE";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'X':
      return "BINUNICODE";
    case 'a':
      return "APPEND";
    case 'b':
      return "BUILD";
    case 'c':
      return "GLOBAL";
    case 'd':
      return "DICT";
    case '}':
      return "EMPTY_DICT";
    case 'e':
      return "APPENDS";
    case 'g':
      return "GET";
    case 'h':
      return "BINGET";
    case 'i':
      return "INST";
    case 'j':
      return "LONG_BINGET";
    case 'l':
      return "LIST";
    case ']':
      return "EMPTY_LIST";
    case 'o':
      return "OBJ";
    case 'p':
      return "PUT";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 's':
      return "SETITEM";
    case 't':
      return "TUPLE";
    case ')':
      return "EMPTY_TUPLE";
    case 'u':
      return "SETITEMS";
    case 'G':
      return "BINFLOAT";
    case 0x80:
      return "PROTO";
    case 0x81:
      return "NEWOBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 0x8e:
      return "BINBYTES8";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x93:
      return "STACK_GLOBAL";
    case 0x94:
      return "MEMOIZE";
    case 0x95:
      return "FRAME";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

// The callables and classes a state dict pickle may name, and those of a whole nn.Linear module
// (`torch.save(layer)` rather than its state dict: the class, instantiated by NEWOBJ and given its
// __dict__ by BUILD, where a set of buffer names appears). Anything else is refused when the
// GLOBAL opcode names it, before it could be "called".
enum class Callable { ordered_dict, rebuild_tensor, rebuild_parameter, storage_type, linear_class, set_type };

struct Value {
  enum Kind {
    is_none,
    is_boolean,
    is_integer,
    is_real,
    is_text,
    is_tuple,
    is_list,
    is_dict,
    is_global,
    is_storage,
    is_tensor,
    is_module  // an nn.Linear; items: its __dict__ once BUILD has given it one
  };
  Kind kind = is_none;
  std::int64_t integer = 0;
  double real = 0;
  std::string str;                 // text; for a global, "module.name"
  std::vector<std::size_t> items;  // tuple and list elements; dict keys and values interleaved
  Callable callable = Callable::ordered_dict;
  DType dtype = DType::f32;  // storage type of a global or a storage
  TensorRef tensor;          // storage (key, dtype, elements) or tensor
};

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::is_none:
      return "None";
    case Value::is_boolean:
      return "bool";
    case Value::is_integer:
      return "int";
    case Value::is_real:
      return "float";
    case Value::is_text:
      return "str";
    case Value::is_tuple:
      return "tuple";
    case Value::is_list:
      return "list";
    case Value::is_dict:
      return "dict";
    case Value::is_global:
      return "global";
    case Value::is_storage:
      return "storage";
    case Value::is_tensor:
      return "tensor";
    case Value::is_module:
      return "module";
  }
  return "?";
}

class Machine {
 public:
  // `base`: where data lies in the file, for the offsets in messages (a legacy file holds
  // several pickles one after another).
  Machine(const std::uint8_t* data, std::size_t size, const std::string& name, std::size_t base = 0)
      : data_(data), size_(size), name_(name), base_(base) {}

  Result<StateDict> run();
  // Runs to STOP and returns the value left on top (run() then reads it as a state dict).
  Result<std::size_t> run_to_stop();
  std::size_t end() const { return pos_; }  // just past the STOP, once run
  // A legacy file's other pickles: its sys_info dict must say little-endian, and its last pickle
  // is the list of storage keys in the order their bytes follow.
  Status check_little_endian(std::size_t top) const;
  Result<std::vector<std::string>> text_list(std::size_t top) const;

 private:
  Status fail(const std::string& what) const {
    return Status::failure(name_ + ":" + std::to_string(base_ + op_at_) + ": " + what);
  }
  bool has(std::size_t n) const { return size_ - pos_ >= n; }
  std::size_t push(Value value) {
    values_.push_back(std::move(value));
    stack_.push_back(values_.size() - 1);
    return values_.size() - 1;
  }
  Result<std::size_t> pop();
  Result<std::vector<std::size_t>> pop_to_mark();
  Status read_text(std::size_t length, std::string& out);
  Status make_global(const std::string& module, const std::string& name);
  Status reduce();
  Status persistent_id();
  Status require(std::size_t index, Value::Kind kind, const char* what) const;
  Result<std::vector<std::uint64_t>> int_tuple(std::size_t index, const char* what) const;
  Result<StateDict> finish(std::size_t top) const;
  Result<StateDict> module_parameters(std::size_t module) const;
  Result<StateDict> scripted_parameters(const Value& attributes) const;

  const std::uint8_t* data_;
  std::size_t size_;
  const std::string& name_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
  std::size_t op_at_ = 0;
  std::vector<Value> values_;
  // For each dict (by value index), where each text key's value sits in its items: a repeated key
  // replaces the earlier value in constant time (a scan per insertion made n keys cost n^2).
  std::unordered_map<std::size_t, std::unordered_map<std::string, std::size_t>> dict_keys_;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, std::size_t> memo_;
};

Result<std::size_t> Machine::pop() {
  if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) {
    return fail("pickle stack underflow");
  }
  std::size_t top = stack_.back();
  stack_.pop_back();
  return top;
}

Result<std::vector<std::size_t>> Machine::pop_to_mark() {
  if (marks_.empty()) return fail("pickle needs a MARK that is not there");
  std::vector<std::size_t> items(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

Status Machine::read_text(std::size_t length, std::string& out) {
  if (!has(length)) {
    return fail("string of " + std::to_string(length) + " bytes runs past the end of the pickle");
  }
  out.assign(reinterpret_cast<const char*>(data_ + pos_), length);
  pos_ += length;
  return Status();
}

// The class torch.jit.save gives a scripted or traced nn.Linear: __torch__.torch.nn.modules.linear
// .Linear, or with a mangled module (.___torch_mangle_7) when one process made several.
bool is_scripted_linear(const std::string& module, const std::string& name) {
  const std::string base = "__torch__.torch.nn.modules.linear";
  if (name != "Linear" || module.compare(0, base.size(), base) != 0) return false;
  if (module.size() == base.size()) return true;
  const std::string mangle = ".___torch_mangle_";
  if (module.compare(base.size(), mangle.size(), mangle) != 0 || module.size() == base.size() + mangle.size())
    return false;
  return std::all_of(module.begin() + std::ptrdiff_t(base.size() + mangle.size()), module.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

Status Machine::make_global(const std::string& module, const std::string& name) {
  Value value;
  value.kind = Value::is_global;
  value.str = module + "." + name;
  static const struct {
    const char* name;
    DType dtype;
  } kStorages[] = {{"torch.FloatStorage", DType::f32},
                   {"torch.DoubleStorage", DType::f64},
                   {"torch.HalfStorage", DType::f16},
                   {"torch.BFloat16Storage", DType::bf16}};
  if (value.str == "collections.OrderedDict") {
    value.callable = Callable::ordered_dict;
  } else if (value.str == "torch._utils._rebuild_tensor_v2") {
    value.callable = Callable::rebuild_tensor;
  } else if (value.str == "torch._utils._rebuild_parameter" ||
             value.str == "torch._utils._rebuild_parameter_with_state") {
    // (PyTorch 2's form for a Parameter with attributes of its own, passed as a fourth argument.)
    value.callable = Callable::rebuild_parameter;
  } else if (value.str == "torch.nn.modules.linear.Linear") {
    value.callable = Callable::linear_class;
  } else if (is_scripted_linear(module, name)) {
    value.callable = Callable::linear_class;
    value.integer = 1;  // TorchScript's: its attributes hold the parameters themselves
  } else if (value.str == "__builtin__.set" || value.str == "builtins.set") {
    value.callable = Callable::set_type;
  } else {
    bool known = false;
    for (const auto& storage : kStorages) {
      if (value.str == storage.name) {
        value.callable = Callable::storage_type;
        value.dtype = storage.dtype;
        known = true;
      }
    }
    if (!known) {
      if (module == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0) {
        return fail("tensor storage type " + quoted(value.str) +
                    " is not supported (float32, float64, float16 and bfloat16 are)");
      }
      return fail("pickle refers to " + quoted(value.str) +
                  ", which is not part of a PyTorch state dict or nn.Linear module; refusing it");
    }
  }
  push(std::move(value));
  return Status();
}

Status Machine::require(std::size_t index, Value::Kind kind, const char* what) const {
  if (values_[index].kind != kind) {
    return fail(std::string(what) + ": expected " + kind_name(kind) + ", got " +
                kind_name(values_[index].kind));
  }
  return Status();
}

Result<std::vector<std::uint64_t>> Machine::int_tuple(std::size_t index, const char* what) const {
  if (auto status = require(index, Value::is_tuple, what); !status) return status;
  std::vector<std::uint64_t> numbers;
  for (std::size_t item : values_[index].items) {
    if (values_[item].kind != Value::is_integer || values_[item].integer < 0) {
      return fail(std::string(what) + ": expected non-negative integers");
    }
    numbers.push_back(std::uint64_t(values_[item].integer));
  }
  return numbers;
}

Status Machine::persistent_id() {
  auto pid = pop();
  if (!pid) return pid.status();
  if (auto status = require(*pid, Value::is_tuple, "persistent id"); !status) return status;
  const auto items = values_[*pid].items;  // a copy: values_ may grow below
  // The legacy format names a pickled module's class by a persistent id ('module', class, source
  // file, source text), so that torch.load can warn when the source changed; the class is all
  // we need (and GLOBAL has already refused any class but nn.Linear).
  if (items.size() == 4 && values_[items[0]].kind == Value::is_text && values_[items[0]].str == "module") {
    const Value& type = values_[items[1]];
    if (type.kind != Value::is_global || type.callable != Callable::linear_class) {
      return fail("persistent id: a module class other than nn.Linear");
    }
    stack_.push_back(items[1]);
    return Status();
  }
  // The legacy format adds a sixth element, view_metadata: None unless the storage is a view of
  // another (old PyTorch's storage views), which no state dict of a Linear layer needs.
  if (items.size() < 5 || items.size() > 6 || values_[items[0]].kind != Value::is_text ||
      values_[items[0]].str != "storage") {
    return fail("persistent id is not a ('storage', type, key, location, size) tuple");
  }
  if (items.size() == 6 && values_[items[5]].kind != Value::is_none) {
    return fail("persistent id: storage views (view_metadata) are not supported");
  }
  const Value& type = values_[items[1]];
  if (type.kind != Value::is_global || type.callable != Callable::storage_type) {
    return fail("persistent id: expected a storage type such as torch.FloatStorage");
  }
  if (auto status = require(items[2], Value::is_text, "storage key"); !status) return status;
  if (auto status = require(items[3], Value::is_text, "storage location"); !status) return status;
  if (auto status = require(items[4], Value::is_integer, "storage size"); !status) return status;
  if (values_[items[4]].integer < 0) return fail("storage size is negative");
  Value storage;
  storage.kind = Value::is_storage;
  storage.tensor.storage_key = values_[items[2]].str;
  storage.tensor.dtype = type.dtype;
  storage.tensor.storage_elements = std::uint64_t(values_[items[4]].integer);
  push(std::move(storage));
  return Status();
}

Status Machine::reduce() {
  auto args = pop();
  if (!args) return args.status();
  auto callable = pop();
  if (!callable) return callable.status();
  if (auto status = require(*args, Value::is_tuple, "REDUCE arguments"); !status) return status;
  const Value& function = values_[*callable];
  if (function.kind != Value::is_global) {
    return fail(std::string("REDUCE calls a ") + kind_name(function.kind) + ", not a function");
  }
  const auto arguments = values_[*args].items;
  switch (function.callable) {
    case Callable::ordered_dict: {
      if (!arguments.empty()) return fail("OrderedDict called with arguments");
      Value dict;
      dict.kind = Value::is_dict;
      push(std::move(dict));
      return Status();
    }
    case Callable::rebuild_parameter: {
      // _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself is all we need.
      if (arguments.size() < 1 || values_[arguments[0]].kind != Value::is_tensor) {
        return fail("_rebuild_parameter: expected a tensor as first argument");
      }
      stack_.push_back(arguments[0]);
      return Status();
    }
    case Callable::rebuild_tensor: {
      // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (arguments.size() < 4) {
        return fail("_rebuild_tensor_v2 called with " + std::to_string(arguments.size()) +
                    " arguments, expected at least 4");
      }
      if (auto status = require(arguments[0], Value::is_storage, "tensor storage"); !status) return status;
      if (auto status = require(arguments[1], Value::is_integer, "tensor offset"); !status) return status;
      if (values_[arguments[1]].integer < 0) return fail("tensor offset is negative");
      auto shape = int_tuple(arguments[2], "tensor size");
      if (!shape) return shape.status();
      auto stride = int_tuple(arguments[3], "tensor stride");
      if (!stride) return stride.status();
      if (shape->size() != stride->size()) {
        return fail("tensor has " + std::to_string(shape->size()) + " sizes but " +
                    std::to_string(stride->size()) + " strides");
      }
      if (shape->size() > kMaxTensorDims) {
        return fail("tensor has " + std::to_string(shape->size()) + " dimensions, more than " +
                    std::to_string(kMaxTensorDims));
      }
      Value tensor;
      tensor.kind = Value::is_tensor;
      tensor.tensor = values_[arguments[0]].tensor;
      tensor.tensor.offset = std::uint64_t(values_[arguments[1]].integer);
      tensor.tensor.shape = std::move(*shape);
      tensor.tensor.stride = std::move(*stride);
      push(std::move(tensor));
      return Status();
    }
    case Callable::set_type: {
      // set(list): a module's _non_persistent_buffers_set, which we keep as the list it was.
      if (arguments.size() != 1 || values_[arguments[0]].kind != Value::is_list) {
        return fail("set called with other than one list");
      }
      stack_.push_back(arguments[0]);
      return Status();
    }
    case Callable::storage_type:
      return fail("pickle calls storage type " + quoted(function.str) + " directly");
    case Callable::linear_class:
      return fail("pickle calls " + quoted(function.str) + " other than through NEWOBJ");
  }
  return fail("unreachable");
}

Result<StateDict> Machine::finish(std::size_t top) const {
  if (values_[top].kind == Value::is_module) return module_parameters(top);
  const Value& dict = values_[top];
  if (dict.kind != Value::is_dict) {
    return fail(std::string("pickle holds a ") + kind_name(dict.kind) +
                ", not a state dict (an OrderedDict of tensors)");
  }
  StateDict tensors;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const Value& key = values_[dict.items[i]];
    const Value& value = values_[dict.items[i + 1]];
    if (key.kind != Value::is_text) return fail("state dict has a key that is not a string");
    if (value.kind != Value::is_tensor) {
      return fail("state dict entry " + quoted(key.str) + " is a " + kind_name(value.kind) + ", not a tensor");
    }
    tensors.emplace_back(key.str, value.tensor);
  }
  return tensors;
}

// An nn.Linear module's parameters, from its __dict__: `_parameters` maps 'weight' and 'bias' to
// tensors (bias to None for bias=False, which a state dict leaves out); a module holding other
// modules or buffers is not a Linear layer.
Result<StateDict> Machine::module_parameters(std::size_t module) const {
  if (values_[module].items.empty()) return fail("nn.Linear module without attributes (no BUILD)");
  const Value& attributes = values_[values_[module].items[0]];
  if (values_[module].integer == 1) return scripted_parameters(attributes);
  const Value* parameters = nullptr;
  for (std::size_t i = 0; i + 1 < attributes.items.size(); i += 2) {
    const Value& key = values_[attributes.items[i]];
    const Value& value = values_[attributes.items[i + 1]];
    if (key.kind != Value::is_text) continue;
    if (key.str == "_parameters") parameters = &value;
    if ((key.str == "_modules" || key.str == "_buffers") &&
        (value.kind != Value::is_dict || !value.items.empty())) {
      return fail("nn.Linear module with " + std::string(key.str == "_modules" ? "submodules" : "buffers") +
                  "; not a plain Linear layer");
    }
  }
  if (!parameters || parameters->kind != Value::is_dict) {
    return fail("nn.Linear module without a '_parameters' dict");
  }
  StateDict tensors;
  for (std::size_t i = 0; i + 1 < parameters->items.size(); i += 2) {
    const Value& key = values_[parameters->items[i]];
    const Value& value = values_[parameters->items[i + 1]];
    if (key.kind != Value::is_text) return fail("module parameter with a name that is not a string");
    if (value.kind == Value::is_none) continue;  // nn.Linear(..., bias=False): bias is None
    if (value.kind != Value::is_tensor) {
      return fail("module parameter " + quoted(key.str) + " is a " + kind_name(value.kind) +
                  ", not a tensor");
    }
    tensors.emplace_back(key.str, value.tensor);
  }
  return tensors;
}

// A TorchScript nn.Linear's parameters: its attributes are `weight` and `bias` (None for
// bias=False) beside `training` and hook flags; any other tensor (a buffer) is not a plain Linear.
Result<StateDict> Machine::scripted_parameters(const Value& attributes) const {
  StateDict tensors;
  for (std::size_t i = 0; i + 1 < attributes.items.size(); i += 2) {
    const Value& key = values_[attributes.items[i]];
    const Value& value = values_[attributes.items[i + 1]];
    if (key.kind != Value::is_text)
      return fail("scripted nn.Linear attribute with a name that is not a string");
    const bool parameter = key.str == "weight" || key.str == "bias";
    if (!parameter && value.kind == Value::is_tensor) {
      return fail("scripted nn.Linear with the tensor " + quoted(key.str) + "; not a plain Linear layer");
    }
    if (!parameter || value.kind == Value::is_none) continue;
    if (value.kind != Value::is_tensor) {
      return fail("scripted nn.Linear attribute " + quoted(key.str) + " is a " + kind_name(value.kind) +
                  ", not a tensor");
    }
    tensors.emplace_back(key.str, value.tensor);
  }
  return tensors;
}

Result<StateDict> Machine::run() {
  auto top = run_to_stop();
  if (!top) return top.status();
  return finish(*top);
}

Status Machine::check_little_endian(std::size_t top) const {
  const Value& dict = values_[top];
  if (dict.kind != Value::is_dict) return fail("legacy PyTorch file: sys_info is not a dict");
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const Value& key = values_[dict.items[i]];
    const Value& value = values_[dict.items[i + 1]];
    if (key.kind == Value::is_text && key.str == "little_endian") {
      if (value.kind == Value::is_boolean && value.integer == 1) return Status();
      return fail("legacy PyTorch file: storages are stored big-endian; only little-endian is supported");
    }
  }
  return fail("legacy PyTorch file: sys_info does not say little_endian");
}

Result<std::vector<std::string>> Machine::text_list(std::size_t top) const {
  const Value& list = values_[top];
  if (list.kind != Value::is_list) return fail("legacy PyTorch file: the storage keys are not a list");
  std::vector<std::string> keys;
  for (std::size_t item : list.items) {
    if (values_[item].kind != Value::is_text)
      return fail("legacy PyTorch file: a storage key is not a string");
    keys.push_back(values_[item].str);
  }
  return keys;
}

Result<std::size_t> Machine::run_to_stop() {
  while (pos_ < size_) {
    op_at_ = pos_;
    std::uint8_t op = data_[pos_++];
    if (values_.size() > kMaxPickleValues) {
      return fail("pickle builds more than " + std::to_string(kMaxPickleValues) +
                  " values; likely malformed");
    }
    switch (op) {
      case 0x80: {  // PROTO
        if (!has(1)) return fail("truncated PROTO");
        std::uint8_t protocol = data_[pos_++];
        if (protocol < 2 || protocol > 5) {
          return fail("pickle protocol " + std::to_string(protocol) + " is not supported (2 to 5)");
        }
        break;
      }
      case 0x95:  // FRAME: a length hint, the opcodes follow inline
        if (!has(8)) return fail("truncated FRAME");
        pos_ += 8;
        break;
      case '.': {  // STOP
        auto top = pop();
        if (!top) return top.status();
        return *top;
      }
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0': {
        auto top = pop();
        if (!top) return top.status();
        break;
      }
      case 'N':
        push(Value{});
        break;
      case 0x88:
      case 0x89: {
        Value value;
        value.kind = Value::is_boolean;
        value.integer = op == 0x88;
        push(std::move(value));
        break;
      }
      case 'J':
      case 'K':
      case 'M': {
        std::size_t width = op == 'J' ? 4 : op == 'K' ? 1 : 2;
        if (!has(width)) return fail(std::string("truncated ") + opcode_name(op));
        Value value;
        value.kind = Value::is_integer;
        if (op == 'J') value.integer = std::int32_t(load_u32le(data_ + pos_));
        if (op == 'K') value.integer = data_[pos_];
        if (op == 'M') value.integer = load_u16le(data_ + pos_);
        pos_ += width;
        push(std::move(value));
        break;
      }
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        if (!has(1)) return fail("truncated LONG1");
        std::size_t n = data_[pos_++];
        if (!has(n)) return fail("truncated LONG1");
        if (n > 8) return fail("integer of " + std::to_string(n) + " bytes is too large");
        std::uint64_t bits = 0;
        for (std::size_t i = 0; i < n; ++i) bits |= std::uint64_t(data_[pos_ + i]) << (8 * i);
        if (n > 0 && n < 8 && (data_[pos_ + n - 1] & 0x80)) bits |= ~std::uint64_t(0) << (8 * n);
        pos_ += n;
        Value value;
        value.kind = Value::is_integer;
        value.integer = std::int64_t(bits);
        push(std::move(value));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        if (!has(8)) return fail("truncated BINFLOAT");
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + std::size_t(i)];
        pos_ += 8;
        Value value;
        value.kind = Value::is_real;
        std::memcpy(&value.real, &bits, 8);
        push(std::move(value));
        break;
      }
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'T':
      case 'U': {
        std::size_t width = (op == 0x8c || op == 'U') ? 1 : op == 0x8d ? 8 : 4;
        if (!has(width)) return fail(std::string("truncated ") + opcode_name(op));
        std::uint64_t length = width == 1   ? data_[pos_]
                               : width == 4 ? load_u32le(data_ + pos_)
                                            : load_u64le(data_ + pos_);
        pos_ += width;
        Value value;
        value.kind = Value::is_text;
        if (length > size_) return fail("string length " + std::to_string(length) + " is too large");
        if (auto status = read_text(std::size_t(length), value.str); !status) return status;
        push(std::move(value));
        break;
      }
      case ')':
      case ']':
      case '}':
      case 0x8f: {  // EMPTY_SET (protocol 4: a module's _non_persistent_buffers_set), kept as a list
        Value value;
        value.kind = op == ')' ? Value::is_tuple : op == '}' ? Value::is_dict : Value::is_list;
        push(std::move(value));
        break;
      }
      case 't':
      case 0x85:
      case 0x86:
      case 0x87: {
        Value value;
        value.kind = Value::is_tuple;
        if (op == 't') {
          auto items = pop_to_mark();
          if (!items) return items.status();
          value.items = std::move(*items);
        } else {
          std::size_t n = std::size_t(op - 0x84);
          value.items.resize(n);
          for (std::size_t i = n; i-- > 0;) {
            auto item = pop();
            if (!item) return item.status();
            value.items[i] = *item;
          }
        }
        push(std::move(value));
        break;
      }
      case 'a':
      case 'e':
      case 0x90: {  // ADDITEMS: to a set, which EMPTY_SET made a list
        std::vector<std::size_t> items;
        if (op == 'a') {
          auto item = pop();
          if (!item) return item.status();
          items.push_back(*item);
        } else {
          auto popped = pop_to_mark();
          if (!popped) return popped.status();
          items = std::move(*popped);
        }
        if (stack_.empty() || values_[stack_.back()].kind != Value::is_list) {
          return fail(std::string(opcode_name(op)) + " needs a list");
        }
        auto& list = values_[stack_.back()].items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case 's':
      case 'u': {
        std::vector<std::size_t> items;
        if (op == 's') {
          auto value = pop();
          if (!value) return value.status();
          auto key = pop();
          if (!key) return key.status();
          items = {*key, *value};
        } else {
          auto popped = pop_to_mark();
          if (!popped) return popped.status();
          items = std::move(*popped);
          if (items.size() % 2 != 0) return fail("SETITEMS with an odd number of items");
        }
        if (stack_.empty() || values_[stack_.back()].kind != Value::is_dict) {
          return fail(std::string(opcode_name(op)) + " needs a dict");
        }
        std::size_t dict = stack_.back();
        auto& keys = dict_keys_[dict];
        if (keys.empty()) {  // a dict built whole (DICT) has entries not indexed yet
          const auto& entries = values_[dict].items;
          for (std::size_t k = 0; k + 1 < entries.size(); k += 2) {
            if (values_[entries[k]].kind == Value::is_text) keys[values_[entries[k]].str] = k + 1;
          }
        }
        for (std::size_t i = 0; i < items.size(); i += 2) {
          // A repeated key replaces the earlier value, as in Python.
          auto& entries = values_[dict].items;
          if (values_[items[i]].kind == Value::is_text) {
            auto [slot, fresh] = keys.emplace(values_[items[i]].str, entries.size() + 1);
            if (!fresh) {
              entries[slot->second] = items[i + 1];
              continue;
            }
          }
          entries.push_back(items[i]);
          entries.push_back(items[i + 1]);
        }
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string parts[2];
        for (auto& part : parts) {
          const void* newline = std::memchr(data_ + pos_, '\n', size_ - pos_);
          if (!newline) return fail("truncated GLOBAL");
          std::size_t length = std::size_t(static_cast<const std::uint8_t*>(newline) - (data_ + pos_));
          if (auto status = read_text(length, part); !status) return status;
          ++pos_;
        }
        if (auto status = make_global(parts[0], parts[1]); !status) return status;
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        if (!name) return name.status();
        auto module = pop();
        if (!module) return module.status();
        if (values_[*name].kind != Value::is_text || values_[*module].kind != Value::is_text) {
          return fail("STACK_GLOBAL needs two strings");
        }
        std::string module_name = values_[*module].str, global_name = values_[*name].str;
        if (auto status = make_global(module_name, global_name); !status) return status;
        break;
      }
      case 'R':
        if (auto status = reduce(); !status) return status;
        break;
      case 'Q':
        if (auto status = persistent_id(); !status) return status;
        break;
      // BUILD: a state dict's `_metadata` attribute, which we do not need, or a module's __dict__.
      case 'b': {
        auto state = pop();
        if (!state) return state.status();
        if (!stack_.empty() && values_[stack_.back()].kind == Value::is_module) {
          Value& module = values_[stack_.back()];
          if (values_[*state].kind != Value::is_dict || !module.items.empty()) {
            return fail("BUILD gives an nn.Linear module other than one dict of attributes");
          }
          module.items.push_back(*state);
          break;
        }
        if (stack_.empty() || values_[stack_.back()].kind != Value::is_dict) {
          return fail("BUILD is only understood on an OrderedDict or an nn.Linear module");
        }
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args), for an nn.Linear module only
        auto args = pop();
        if (!args) return args.status();
        auto cls = pop();
        if (!cls) return cls.status();
        const Value& type = values_[*cls];
        if (type.kind != Value::is_global || type.callable != Callable::linear_class) {
          return fail("NEWOBJ makes a " +
                      (type.kind == Value::is_global ? quoted(type.str) : kind_name(type.kind)) +
                      "; only an nn.Linear module is understood");
        }
        if (values_[*args].kind != Value::is_tuple || !values_[*args].items.empty()) {
          return fail("NEWOBJ of nn.Linear with arguments");
        }
        Value module;
        module.kind = Value::is_module;
        module.integer = type.integer;  // 1: TorchScript's Linear
        push(std::move(module));
        break;
      }
      case 'q':
      case 'r':
      case 0x94: {
        std::uint64_t index = memo_.size();
        if (op != 0x94) {
          std::size_t width = op == 'q' ? 1 : 4;
          if (!has(width)) return fail(std::string("truncated ") + opcode_name(op));
          index = op == 'q' ? data_[pos_] : load_u32le(data_ + pos_);
          pos_ += width;
        }
        if (stack_.empty()) return fail(std::string(opcode_name(op)) + " on an empty stack");
        memo_[index] = stack_.back();
        break;
      }
      case 'h':
      case 'j': {
        std::size_t width = op == 'h' ? 1 : 4;
        if (!has(width)) return fail(std::string("truncated ") + opcode_name(op));
        std::uint64_t index = op == 'h' ? data_[pos_] : load_u32le(data_ + pos_);
        pos_ += width;
        auto found = memo_.find(index);
        if (found == memo_.end()) {
          return fail(std::string(opcode_name(op)) + " of memo entry " + std::to_string(index) +
                      ", which was never stored");
        }
        stack_.push_back(found->second);
        break;
      }
      default: {
        const char* known = opcode_name(op);
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", op);
        return fail(known ? std::string("pickle opcode ") + known + " (" + code +
                                ") is not used by PyTorch state dicts; refusing it"
                          : std::string("unknown pickle opcode ") + code);
      }
    }
  }
  op_at_ = pos_;
  return fail("pickle ends without STOP");
}

// Writes pickle opcodes, memoizing every object as pickle's own Pickler does.
class Writer {
 public:
  void op(std::uint8_t code) { out_.u8(code); }
  void memoize() {
    std::uint32_t index = next_memo_++;
    if (index < 256) {
      out_.u8('q');
      out_.u8(std::uint8_t(index));
    } else {
      out_.u8('r');
      out_.u32(index);
    }
  }
  std::uint32_t last_memo() const { return next_memo_ - 1; }
  void get(std::uint32_t index) {
    if (index < 256) {
      out_.u8('h');
      out_.u8(std::uint8_t(index));
    } else {
      out_.u8('j');
      out_.u32(index);
    }
  }
  void text(const std::string& s) {
    out_.u8('X');
    out_.u32(std::uint32_t(s.size()));
    out_.text(s);
    memoize();
  }
  void global(const char* module, const char* name) {
    out_.u8('c');
    out_.text(module);
    out_.u8('\n');
    out_.text(name);
    out_.u8('\n');
    memoize();
  }
  void integer(std::uint64_t v) {
    if (v < 256) {
      out_.u8('K');
      out_.u8(std::uint8_t(v));
    } else if (v < 65536) {
      out_.u8('M');
      out_.u16(std::uint16_t(v));
    } else if (v < 0x80000000u) {
      out_.u8('J');
      out_.u32(std::uint32_t(v));
    } else {
      out_.u8(0x8a);
      out_.u8(8);
      out_.u64(v);
    }
  }
  void int_tuple(const std::vector<std::uint64_t>& values) {
    if (values.empty()) {
      out_.u8(')');
      return;
    }
    if (values.size() > 3) out_.u8('(');
    for (auto v : values) integer(v);
    out_.u8(values.size() > 3 ? 't' : std::uint8_t(0x84 + values.size()));
    memoize();
  }
  std::vector<std::uint8_t>& bytes() { return out_.bytes(); }

 private:
  ByteWriter out_;
  std::uint32_t next_memo_ = 0;
};

}  // namespace

Result<StateDict> read_state_dict_pickle(const std::uint8_t* data, std::size_t size,
                                         const std::string& name) {
  return Machine(data, size, name).run();
}

bool is_legacy_pth(const std::uint8_t* data, std::size_t size) {
  return pickled_length(data, size, kLegacyMagic, sizeof kLegacyMagic) > 0;
}

Result<LegacyPickles> read_legacy_pickles(const std::uint8_t* data, std::size_t size,
                                          const std::string& name) {
  if (!is_legacy_pth(data, size)) {
    return Status::failure(name + ":0: not a legacy PyTorch file (no magic number pickle)");
  }
  // The protocol version, pickled alone: BININT2 1001 is the only one torch.save has written.
  std::size_t pos = pickled_length(data, size, kLegacyMagic, sizeof kLegacyMagic);
  const std::size_t version = pickled_length(data + pos, size - pos, kVersion1001, sizeof kVersion1001);
  if (version == 0) {
    return Status::failure(name + ":" + std::to_string(pos) +
                           ": legacy PyTorch file: protocol version is not 1001, the only one supported");
  }
  pos += version;
  Machine info(data + pos, size - pos, name, pos);
  auto info_top = info.run_to_stop();
  if (!info_top) return info_top.status();
  if (auto status = info.check_little_endian(*info_top); !status) return status;
  pos += info.end();
  Machine main(data + pos, size - pos, name, pos);
  auto tensors = main.run();
  if (!tensors) return tensors.status();
  pos += main.end();
  Machine keys(data + pos, size - pos, name, pos);
  auto keys_top = keys.run_to_stop();
  if (!keys_top) return keys_top.status();
  auto order = keys.text_list(*keys_top);
  if (!order) return order.status();
  pos += keys.end();
  LegacyPickles pickles;
  pickles.tensors = std::move(*tensors);
  pickles.storage_order = std::move(*order);
  pickles.data_offset = pos;
  return pickles;
}

std::vector<std::uint8_t> write_state_dict_pickle(const StateDict& tensors) {
  Writer w;
  w.op(0x80);
  w.op(2);
  w.global("collections", "OrderedDict");
  const std::uint32_t ordered_dict = w.last_memo();
  w.op(')');
  w.op('R');
  w.memoize();
  w.op('(');
  std::uint32_t rebuild = 0, storage_type = 0, storage_word = 0;
  bool first = true;
  for (const auto& [key, tensor] : tensors) {
    w.text(key);
    if (first) {
      w.global("torch._utils", "_rebuild_tensor_v2");
      rebuild = w.last_memo();
    } else {
      w.get(rebuild);
    }
    w.op('(');
    w.op('(');
    if (first) {
      w.text("storage");
      storage_word = w.last_memo();
      w.global("torch", "FloatStorage");
      storage_type = w.last_memo();
    } else {
      w.get(storage_word);
      w.get(storage_type);
    }
    first = false;
    w.text(tensor.storage_key);
    w.text("cpu");
    w.integer(tensor.storage_elements);
    w.op('t');
    w.memoize();
    w.op('Q');
    w.integer(tensor.offset);
    w.int_tuple(tensor.shape);
    w.int_tuple(tensor.stride);
    w.op(0x89);  // requires_grad = False
    w.get(ordered_dict);
    w.op(')');
    w.op('R');
    w.memoize();
    w.op('t');
    w.memoize();
    w.op('R');
    w.memoize();
  }
  w.op('u');
  // state_dict()._metadata = {'': {'version': 1}}, set through BUILD as torch.save does.
  w.op('}');
  w.memoize();
  w.text("_metadata");
  w.get(ordered_dict);
  w.op(')');
  w.op('R');
  w.memoize();
  w.text("");
  w.op('}');
  w.memoize();
  w.text("version");
  w.integer(1);
  w.op('s');
  w.op('s');
  w.op('s');
  w.op('b');
  w.op('.');
  return std::move(w.bytes());
}

}  // namespace humpty
