// GgufReader: a defensive reader for GGUF v2/v3 files (llama.cpp / ggml model format).
// Layout (little-endian): "GGUF" | u32 version | u64 tensor count | u64 metadata count |
//   metadata { string key | u32 type | value } | tensor infos { string name | u32 n_dims |
//   u64 ne[n_dims] | u32 ggml type | u64 offset } | padding to alignment | tensor data.
// Strings are u64 length + bytes; arrays are u32 element type | u64 count | elements (arrays of
// arrays are accepted and skipped-over structurally; their elements are not exposed).
// Contract:
// - The file is memory-mapped; every value is parsed and bounds-checked once at open. Bad magic,
//   unsupported version (only 2 and 3), truncation, unknown value or ggml types, absurd counts or
//   lengths (beyond what the file could hold), n_dims > 4, negative/overflowing sizes, duplicate
//   keys or tensor names, a bad general.alignment, tensor data out of the file or overlapping: all
//   throw baimo::Error naming the file and what is wrong (key / tensor name / byte offset).
// - Values are views into the mapping (strings as string_view, numeric arrays as raw pointers):
//   valid while the reader lives. No allocation proportional to untrusted counts before they are
//   checked against the file size.
// - Tensor dims are reported outermost first, like safetensors / PyTorch (GGUF stores ne reversed).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "baimo/io/gguf_writer.h"  // GgufValueType
#include "baimo/util/file_io.h"

namespace baimo {

struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  // Scalars: the raw little-endian bytes of the value at `data` (1, 2, 4 or 8 bytes).
  // String: `str`. Array: `elem_type`, `count`, and `data` pointing at the first element (for
  // numeric/bool arrays: count * size(elem_type) contiguous bytes; for string arrays use
  // GgufReader::string_array()).
  const uint8_t* data = nullptr;
  std::string_view str;
  GgufValueType elem_type = GgufValueType::U8;
  uint64_t count = 0;
  size_t offset = 0;  // byte offset of the value in the file (for error messages)
};

struct GgufKeyValue {
  std::string_view key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string_view name;
  uint32_t ggml_type = 0;
  std::vector<int64_t> shape;  // outermost first
  uint64_t offset = 0;         // relative to data_offset()
  uint64_t n_bytes = 0;        // from the ggml type's block size
  const uint8_t* data = nullptr;
};

class GgufReader {
 public:
  explicit GgufReader(const std::string& path);
  // Parses an in-memory image (fuzzing, tests); `name` appears in errors. `bytes` must outlive it.
  GgufReader(std::string_view bytes, const std::string& name);

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::vector<GgufKeyValue>& metadata() const { return kvs_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  const GgufValue* find(std::string_view key) const;
  // The integer under `key` as (signed, unsigned, is_unsigned); nullopt when absent; Error if not an integer.
  std::optional<std::tuple<int64_t, uint64_t, bool>> find_int(std::string_view key) const;
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // Typed getters: nullopt if the key is absent; baimo::Error (naming file and key) if it is present
  // with another type. get_uint accepts any unsigned/signed integer type with a non-negative value.
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  // Arrays: baimo::Error if the key holds another type / element type.
  std::vector<std::string_view> string_array(std::string_view key) const;
  std::vector<int64_t> int_array(std::string_view key) const;     // any integer element type
  std::vector<double> float_array(std::string_view key) const;    // f32/f64 elements

 private:
  void parse();
  std::optional<MappedFile> file_;
  std::string_view bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> kvs_;
  std::vector<GgufTensorInfo> tensors_;
};

// Byte size of one element / value of a scalar GGUF type; 0 for String and Array.
size_t gguf_scalar_size(GgufValueType t);
std::string_view gguf_type_name(GgufValueType t);

}  // namespace baimo
