#include "baimo/io/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace {

template <class T>
void append_le(std::string& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 is little-endian, as GGUF
  out.append(b, sizeof(T));
}

void append_string(std::string& out, std::string_view s) {
  append_le<uint64_t>(out, s.size());
  out.append(s);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

uint32_t GgufWriter::ggml_type_id(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 8;
    case DType::Q4_K: return 12;
    case DType::Q6_K: return 14;
    case DType::I32: return 26;
    case DType::I64: return 27;
    case DType::BF16: return 30;
    case DType::Q8_0_S24: return kGgmlTypeBaimoQ8_0S24;
    case DType::U8: break;
  }
  fail("GGUF has no tensor type for {}", dtype_info(t).name);
}

void GgufWriter::put(std::string_view key, ValueType type, std::string payload) {
  if (key.empty()) fail("GGUF metadata key is empty");
  if (key.size() > 65535) fail("GGUF metadata key '{}...' is longer than 65535 bytes", key.substr(0, 40));
  for (auto& kv : kvs_) {
    if (kv.key == key) {
      kv.type = type;
      kv.payload = std::move(payload);
      return;
    }
  }
  kvs_.push_back({std::string(key), type, std::move(payload)});
}

#define BAIMO_GGUF_SCALAR(fn, T, tag)             \
  void GgufWriter::fn(std::string_view key, T v) { \
    std::string p;                                 \
    append_le<T>(p, v);                            \
    put(key, GgufWriter::ValueType::tag, std::move(p));    \
  }
BAIMO_GGUF_SCALAR(set_u8, uint8_t, U8)
BAIMO_GGUF_SCALAR(set_i8, int8_t, I8)
BAIMO_GGUF_SCALAR(set_u16, uint16_t, U16)
BAIMO_GGUF_SCALAR(set_i16, int16_t, I16)
BAIMO_GGUF_SCALAR(set_i32, int32_t, I32)
BAIMO_GGUF_SCALAR(set_f32, float, F32)
BAIMO_GGUF_SCALAR(set_u64, uint64_t, U64)
BAIMO_GGUF_SCALAR(set_i64, int64_t, I64)
BAIMO_GGUF_SCALAR(set_f64, double, F64)
#undef BAIMO_GGUF_SCALAR

void GgufWriter::set_u32(std::string_view key, uint32_t v) {
  if (key == "general.alignment") {
    if (v == 0 || (v & (v - 1)) != 0) fail("GGUF general.alignment must be a power of two, got {}", v);
    alignment_ = v;
  }
  std::string p;
  append_le<uint32_t>(p, v);
  put(key, ValueType::U32, std::move(p));
}

void GgufWriter::set_bool(std::string_view key, bool v) {
  put(key, ValueType::Bool, std::string(1, v ? '\1' : '\0'));
}

void GgufWriter::set_string(std::string_view key, std::string_view v) {
  std::string p;
  append_string(p, v);
  put(key, ValueType::String, std::move(p));
}

template <class T>
void GgufWriter::put_array(std::string_view key, ValueType elem, std::span<const T> v) {
  std::string p;
  append_le<uint32_t>(p, static_cast<uint32_t>(elem));
  append_le<uint64_t>(p, v.size());
  for (const T& e : v) append_le<T>(p, e);
  put(key, ValueType::Array, std::move(p));
}

void GgufWriter::set_array(std::string_view key, std::span<const uint8_t> v) { put_array(key, ValueType::U8, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int8_t> v) { put_array(key, ValueType::I8, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint16_t> v) { put_array(key, ValueType::U16, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int16_t> v) { put_array(key, ValueType::I16, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint32_t> v) { put_array(key, ValueType::U32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int32_t> v) { put_array(key, ValueType::I32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const float> v) { put_array(key, ValueType::F32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint64_t> v) { put_array(key, ValueType::U64, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int64_t> v) { put_array(key, ValueType::I64, v); }
void GgufWriter::set_array(std::string_view key, std::span<const double> v) { put_array(key, ValueType::F64, v); }

void GgufWriter::set_bool_array(std::string_view key, const std::vector<bool>& v) {
  std::string p;
  append_le<uint32_t>(p, static_cast<uint32_t>(ValueType::Bool));
  append_le<uint64_t>(p, v.size());
  for (bool b : v) p.push_back(b ? '\1' : '\0');
  put(key, ValueType::Array, std::move(p));
}

void GgufWriter::set_string_array(std::string_view key, const std::vector<std::string>& v) {
  std::string p;
  append_le<uint32_t>(p, static_cast<uint32_t>(ValueType::String));
  append_le<uint64_t>(p, v.size());
  for (const auto& s : v) append_string(p, s);
  put(key, ValueType::Array, std::move(p));
}

GgufWriter::Tensor& GgufWriter::new_tensor(std::string_view name, DType type, std::vector<int64_t> shape) {
  if (name.empty()) fail("GGUF tensor name is empty");
  if (name.size() > kMaxTensorName)
    fail("GGUF tensor name '{}' is {} bytes, more than {}", name, name.size(), kMaxTensorName);
  for (const auto& t : tensors_)
    if (t.name == name) fail("GGUF tensor '{}' added twice", name);
  if (shape.empty() || shape.size() > 4) fail("GGUF tensor '{}' has {} dimensions, expected 1 to 4", name, shape.size());
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0) fail("GGUF tensor '{}' has a dimension {} (must be positive)", name, d);
    if (n > (uint64_t{1} << 62) / static_cast<uint64_t>(d)) fail("GGUF tensor '{}' is too large", name);
    n *= static_cast<uint64_t>(d);
  }
  ggml_type_id(type);  // rejects types GGUF cannot hold
  const auto info = dtype_info(type);
  if (shape.back() % info.block_elems != 0)
    fail("GGUF tensor '{}': row length {} is not a multiple of the {} block size {}", name, shape.back(), info.name,
         info.block_elems);
  tensors_.push_back({std::string(name), type, std::move(shape), dtype_bytes(type, n), {}, {}});
  return tensors_.back();
}

void GgufWriter::add_tensor(std::string_view name, DType type, std::vector<int64_t> shape,
                            std::span<const uint8_t> data) {
  Tensor& t = new_tensor(name, type, std::move(shape));
  if (data.size() != t.bytes) {
    const size_t want = t.bytes;
    tensors_.pop_back();
    fail("GGUF tensor '{}': {} bytes of data, its shape and type {} need {}", name, data.size(),
         dtype_info(type).name, want);
  }
  t.data = data;
}

void GgufWriter::add_tensor(std::string_view name, DType type, std::vector<int64_t> shape,
                            std::function<void(uint8_t* dst)> fill) {
  Tensor& t = new_tensor(name, type, std::move(shape));
  t.fill = std::move(fill);
}

void GgufWriter::write(const std::string& path) const {
  // Header, metadata and tensor infos are built in memory; tensor data is streamed.
  std::string head;
  head.append("GGUF", 4);
  append_le<uint32_t>(head, 3);
  append_le<uint64_t>(head, tensors_.size());
  append_le<uint64_t>(head, kvs_.size());
  for (const auto& kv : kvs_) {
    append_string(head, kv.key);
    append_le<uint32_t>(head, static_cast<uint32_t>(kv.type));
    head.append(kv.payload);
  }
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    append_string(head, t.name);
    append_le<uint32_t>(head, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) append_le<uint64_t>(head, static_cast<uint64_t>(*it));
    append_le<uint32_t>(head, ggml_type_id(t.type));
    append_le<uint64_t>(head, offset);
    offsets.push_back(offset);
    offset = align_up(offset + t.bytes, alignment_);
  }
  head.resize(align_up(head.size(), alignment_), '\0');

  write_file_atomic(path, [&](std::FILE* f) {
    auto put_bytes = [&](const void* p, size_t n) {
      if (n && std::fwrite(p, 1, n, f) != n) fail("cannot write {}: {}", path, std::strerror(errno));
    };
    put_bytes(head.data(), head.size());
    const std::string zeros(alignment_, '\0');
    std::vector<uint8_t> buffer;
    for (const auto& t : tensors_) {
      if (t.fill) {
        buffer.assign(t.bytes, 0);
        t.fill(buffer.data());
        put_bytes(buffer.data(), t.bytes);
      } else {
        put_bytes(t.data.data(), t.bytes);
      }
      put_bytes(zeros.data(), align_up(t.bytes, alignment_) - t.bytes);
    }
  });
}

}  // namespace baimo
