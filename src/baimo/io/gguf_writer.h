// GgufWriter: builds a GGUF v3 file (the llama.cpp / ggml model format) and writes it atomically.
// Layout written (all little-endian):
//   "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
//   metadata: { string key | u32 value type | value }   (strings: u64 length + bytes, no NUL;
//             arrays: u32 element type | u64 count | elements; arrays of arrays are not supported)
//   tensor infos: { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   zero padding to the alignment, then each tensor's bytes at its offset (relative to the start
//   of the data section, a multiple of the alignment), each padded with zeros to the alignment.
// The alignment is general.alignment (u32, a power of two) if set, else 32.
// Shapes are given outermost first, as in PyTorch / safetensors ((rows, cols) for a matrix); GGUF
// stores them reversed (ne[0] = cols, the contiguous dimension), which the writer does.
// Metadata keys keep their insertion order; setting a key again replaces its value in place.
// Bad arguments (duplicate tensor names, empty/overlong names, sizes that do not match the shape
// and type, a row length that is no multiple of the block size) throw baimo::Error naming them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tensor/dtype.h"

namespace baimo {

// The ggml type id baimo writes for its own Q8_0_S24 (2:4 compact) tensors: far above ggml's ids
// (39 in 2026), so other engines refuse such a tensor by its unknown type instead of misreading it.
constexpr uint32_t kGgmlTypeBaimoQ8_0S24 = 1024;

// GGUF metadata value types (the u32 tag before each value); shared with gguf_reader.h.
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

class GgufWriter {
 public:
  using ValueType = GgufValueType;
  // ggml's type id for a DType (F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q6_K 14, I32 26, I64 27,
  // BF16 30); throws baimo::Error for a type GGUF cannot hold (U8).
  static uint32_t ggml_type_id(DType t);

  static constexpr uint32_t kDefaultAlignment = 32;
  static constexpr size_t kMaxTensorName = 63;  // GGML_MAX_NAME (64) including the NUL

  void set_u8(std::string_view key, uint8_t v);
  void set_i8(std::string_view key, int8_t v);
  void set_u16(std::string_view key, uint16_t v);
  void set_i16(std::string_view key, int16_t v);
  void set_u32(std::string_view key, uint32_t v);  // general.alignment must be a power of two
  void set_i32(std::string_view key, int32_t v);
  void set_f32(std::string_view key, float v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_u64(std::string_view key, uint64_t v);
  void set_i64(std::string_view key, int64_t v);
  void set_f64(std::string_view key, double v);

  void set_array(std::string_view key, std::span<const uint8_t> v);
  void set_array(std::string_view key, std::span<const int8_t> v);
  void set_array(std::string_view key, std::span<const uint16_t> v);
  void set_array(std::string_view key, std::span<const int16_t> v);
  void set_array(std::string_view key, std::span<const uint32_t> v);
  void set_array(std::string_view key, std::span<const int32_t> v);
  void set_array(std::string_view key, std::span<const float> v);
  void set_array(std::string_view key, std::span<const uint64_t> v);
  void set_array(std::string_view key, std::span<const int64_t> v);
  void set_array(std::string_view key, std::span<const double> v);
  void set_bool_array(std::string_view key, const std::vector<bool>& v);
  void set_string_array(std::string_view key, const std::vector<std::string>& v);

  // data: exactly dtype_bytes(type, product(shape)) bytes; it must stay valid until write().
  void add_tensor(std::string_view name, DType type, std::vector<int64_t> shape, std::span<const uint8_t> data);
  // As add_tensor, but the bytes are produced at write time by fill(dst) into a buffer of the
  // tensor's size (e.g. quantizing on the fly without holding every tensor in memory).
  void add_tensor(std::string_view name, DType type, std::vector<int64_t> shape,
                  std::function<void(uint8_t* dst)> fill);

  uint32_t alignment() const { return alignment_; }
  size_t tensor_count() const { return tensors_.size(); }
  size_t metadata_count() const { return kvs_.size(); }

  // Writes the file atomically (temp file, fsync, rename); throws baimo::Error naming the path.
  void write(const std::string& path) const;

 private:
  struct KeyValue {
    std::string key;
    ValueType type;
    std::string payload;  // the serialized value (after the type tag)
  };
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;  // outermost first
    size_t bytes;
    std::span<const uint8_t> data;
    std::function<void(uint8_t*)> fill;
  };
  void put(std::string_view key, ValueType type, std::string payload);
  template <class T>
  void put_array(std::string_view key, ValueType elem, std::span<const T> v);
  Tensor& new_tensor(std::string_view name, DType type, std::vector<int64_t> shape);

  std::vector<KeyValue> kvs_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = kDefaultAlignment;
};

}  // namespace baimo
