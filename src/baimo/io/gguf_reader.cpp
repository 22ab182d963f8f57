#include "baimo/io/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>
#include <unordered_set>

#include "baimo/util/error.h"

namespace baimo {

namespace {

struct GgmlTypeSize {
  uint32_t block_elems;  // 0: unknown / removed type id
  uint32_t block_bytes;
};

// ggml's type table (ggml.h enum ggml_type): elements and bytes per block.
GgmlTypeSize ggml_type_size(uint32_t t) {
  switch (t) {
    case 0: return {1, 4};      // F32
    case 1: return {1, 2};      // F16
    case 2: return {32, 18};    // Q4_0
    case 3: return {32, 20};    // Q4_1
    case 6: return {32, 22};    // Q5_0
    case 7: return {32, 24};    // Q5_1
    case 8: return {32, 34};    // Q8_0
    case 9: return {32, 36};    // Q8_1
    case 10: return {256, 84};  // Q2_K
    case 11: return {256, 110}; // Q3_K
    case 12: return {256, 144}; // Q4_K
    case 13: return {256, 176}; // Q5_K
    case 14: return {256, 210}; // Q6_K
    case 15: return {256, 292}; // Q8_K
    case 16: return {256, 66};  // IQ2_XXS
    case 17: return {256, 74};  // IQ2_XS
    case 18: return {256, 98};  // IQ3_XXS
    case 19: return {256, 50};  // IQ1_S
    case 20: return {32, 18};   // IQ4_NL
    case 21: return {256, 110}; // IQ3_S
    case 22: return {256, 82};  // IQ2_S
    case 23: return {256, 136}; // IQ4_XS
    case 24: return {1, 1};     // I8
    case 25: return {1, 2};     // I16
    case 26: return {1, 4};     // I32
    case 27: return {1, 8};     // I64
    case 28: return {1, 8};     // F64
    case 29: return {256, 56};  // IQ1_M
    case 30: return {1, 2};     // BF16
    case 34: return {256, 54};  // TQ1_0
    case 35: return {256, 66};  // TQ2_0
    case 39: return {32, 17};   // MXFP4
    case kGgmlTypeBaimoQ8_0S24: return {32, 22};  // baimo's Q8_0_S24 (2:4 compact)
    default: return {0, 0};
  }
}

// Bounds-checked little-endian cursor over the file image.
class Cursor {
 public:
  Cursor(std::string_view bytes, const std::string& name) : b_(bytes), name_(name) {}
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }
  const uint8_t* here() const { return reinterpret_cast<const uint8_t*>(b_.data()) + pos_; }

  void need(uint64_t n, const char* what) const {
    if (n > left())
      fail("GGUF file {}: truncated at byte {} reading {} ({} bytes needed, {} left)", name_, pos_, what, n,
           left());
  }
  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += n;
  }
  std::string_view string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    need(len, what);
    std::string_view s = b_.substr(pos_, len);
    pos_ += len;
    return s;
  }

 private:
  std::string_view b_;
  const std::string& name_;
  size_t pos_ = 0;
};

bool known_value_type(uint32_t t) { return t <= 12; }

}  // namespace

size_t gguf_scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::String: case GgufValueType::Array: return 0;
  }
  return 0;
}

std::string_view gguf_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "unknown";
}

GgufReader::GgufReader(const std::string& path) : name_(path) {
  file_.emplace(path);
  bytes_ = file_->view();
  parse();
}

GgufReader::GgufReader(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) { parse(); }

void GgufReader::parse() {
  Cursor c(bytes_, name_);
  if (bytes_.size() < 4 || std::memcmp(bytes_.data(), "GGUF", 4) != 0)
    fail("GGUF file {}: bad magic (expected \"GGUF\" at byte 0)", name_);
  c.skip(4, "magic");
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail("GGUF file {}: unsupported version {} (only 2 and 3)", name_, version_);
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at
  // least 8 + 4 + 4 + 8 bytes: counts beyond what the file could hold are absurd.
  if (n_kv > c.left() / 13) fail("GGUF file {}: metadata count {} is absurd for a {}-byte file", name_, n_kv, bytes_.size());
  if (n_tensors > c.left() / 24)
    fail("GGUF file {}: tensor count {} is absurd for a {}-byte file", name_, n_tensors, bytes_.size());

  std::unordered_set<std::string_view> keys;
  kvs_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    GgufKeyValue kv;
    size_t at = c.pos();
    kv.key = c.string("metadata key");
    if (kv.key.empty()) fail("GGUF file {}: metadata entry {} at byte {} has an empty key", name_, i, at);
    if (!keys.insert(kv.key).second) fail("GGUF file {}: duplicate metadata key '{}'", name_, kv.key);
    uint32_t t = c.read<uint32_t>("metadata value type");
    if (!known_value_type(t)) fail("GGUF file {}: key '{}' has unknown value type {}", name_, kv.key, t);
    GgufValue& v = kv.value;
    v.type = static_cast<GgufValueType>(t);
    v.offset = c.pos();
    if (v.type == GgufValueType::String) {
      v.str = c.string("string value");
    } else if (v.type == GgufValueType::Array) {
      uint32_t et = c.read<uint32_t>("array element type");
      if (!known_value_type(et))
        fail("GGUF file {}: key '{}' is an array of unknown element type {}", name_, kv.key, et);
      v.elem_type = static_cast<GgufValueType>(et);
      v.count = c.read<uint64_t>("array length");
      v.data = c.here();
      if (v.elem_type == GgufValueType::String) {
        if (v.count > c.left() / 8)
          fail("GGUF file {}: key '{}': string array length {} exceeds the file", name_, kv.key, v.count);
        for (uint64_t k = 0; k < v.count; ++k) c.string("string array element");
      } else if (v.elem_type == GgufValueType::Array) {
        // Arrays of arrays: walk them structurally (one level of nesting, as written by gguf-py).
        if (v.count > c.left() / 12)
          fail("GGUF file {}: key '{}': array length {} exceeds the file", name_, kv.key, v.count);
        for (uint64_t k = 0; k < v.count; ++k) {
          uint32_t it = c.read<uint32_t>("nested array element type");
          uint64_t n = c.read<uint64_t>("nested array length");
          size_t sz = known_value_type(it) ? gguf_scalar_size(static_cast<GgufValueType>(it)) : 0;
          if (it == static_cast<uint32_t>(GgufValueType::String)) {
            if (n > c.left() / 8) fail("GGUF file {}: key '{}': nested array too long", name_, kv.key);
            for (uint64_t j = 0; j < n; ++j) c.string("nested string");
          } else if (sz == 0) {
            fail("GGUF file {}: key '{}': unsupported nested array element type {}", name_, kv.key, it);
          } else {
            if (n > c.left() / sz) fail("GGUF file {}: key '{}': nested array exceeds the file", name_, kv.key);
            c.skip(n * sz, "nested array");
          }
        }
      } else {
        size_t sz = gguf_scalar_size(v.elem_type);
        if (v.count > c.left() / sz)
          fail("GGUF file {}: key '{}': array of {} {} exceeds the file", name_, kv.key, v.count,
               gguf_type_name(v.elem_type));
        c.skip(v.count * sz, "array data");
      }
    } else {
      v.data = c.here();
      c.skip(gguf_scalar_size(v.type), "scalar value");
      if (v.type == GgufValueType::Bool && *v.data > 1)
        fail("GGUF file {}: key '{}': bool value {} is not 0 or 1", name_, kv.key, *v.data);
    }
    kvs_.push_back(kv);
  }

  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufValueType::U32) fail("GGUF file {}: general.alignment must be u32", name_);
    uint32_t al;
    std::memcpy(&al, a->data, 4);
    if (al == 0 || (al & (al - 1)) != 0) fail("GGUF file {}: general.alignment {} is not a power of two", name_, al);
    alignment_ = al;
  }

  std::unordered_set<std::string_view> names;
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo ti;
    ti.name = c.string("tensor name");
    if (ti.name.empty()) fail("GGUF file {}: tensor {} has an empty name", name_, i);
    if (!names.insert(ti.name).second) fail("GGUF file {}: duplicate tensor name '{}'", name_, ti.name);
    uint32_t n_dims = c.read<uint32_t>("tensor n_dims");
    if (n_dims == 0 || n_dims > 4) fail("GGUF file {}: tensor '{}' has n_dims {} (expected 1..4)", name_, ti.name, n_dims);
    uint64_t ne[4];
    uint64_t elems = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = c.read<uint64_t>("tensor dim");
      if (ne[d] > (uint64_t{1} << 62)) fail("GGUF file {}: tensor '{}' dim {} is negative or absurd", name_, ti.name, d);
      if (ne[d] != 0 && elems > std::numeric_limits<uint64_t>::max() / ne[d])
        fail("GGUF file {}: tensor '{}' element count overflows", name_, ti.name);
      elems *= ne[d];
    }
    for (uint32_t d = n_dims; d-- > 0;) ti.shape.push_back(static_cast<int64_t>(ne[d]));
    ti.ggml_type = c.read<uint32_t>("tensor type");
    GgmlTypeSize ts = ggml_type_size(ti.ggml_type);
    if (ts.block_elems == 0) fail("GGUF file {}: tensor '{}' has unknown ggml type {}", name_, ti.name, ti.ggml_type);
    if (ne[0] % ts.block_elems != 0)
      fail("GGUF file {}: tensor '{}': row length {} is not a multiple of the block size {}", name_, ti.name, ne[0],
           ts.block_elems);
    uint64_t blocks = elems / ts.block_elems;
    if (blocks > bytes_.size() / ts.block_bytes + 1)
      fail("GGUF file {}: tensor '{}' ({} elements) is larger than the file", name_, ti.name, elems);
    ti.n_bytes = blocks * ts.block_bytes;
    ti.offset = c.read<uint64_t>("tensor offset");
    if (ti.offset % alignment_ != 0)
      fail("GGUF file {}: tensor '{}' offset {} is not a multiple of the alignment {}", name_, ti.name, ti.offset,
           alignment_);
    tensors_.push_back(std::move(ti));
  }

  uint64_t data_off = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  data_offset_ = data_off;
  if (!tensors_.empty() && data_off > bytes_.size())
    fail("GGUF file {}: tensor data section starts at byte {}, past the end of the file ({} bytes)", name_, data_off,
         bytes_.size());
  const uint64_t data_size = tensors_.empty() ? 0 : bytes_.size() - data_off;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (GgufTensorInfo& ti : tensors_) {
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset)
      fail("GGUF file {}: tensor '{}' data [{}, +{}) lies outside the file's data section ({} bytes)", name_, ti.name,
           ti.offset, ti.n_bytes, data_size);
    ti.data = reinterpret_cast<const uint8_t*>(bytes_.data()) + data_off + ti.offset;
    ranges.push_back({ti.offset, ti.offset + ti.n_bytes});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      fail("GGUF file {}: tensor data ranges overlap at data offset {}", name_, ranges[i].first);
}

const GgufValue* GgufReader::find(std::string_view key) const {
  for (const GgufKeyValue& kv : kvs_)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

const GgufTensorInfo* GgufReader::find_tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {

bool read_int(GgufValueType t, const uint8_t* p, int64_t& out, uint64_t& uout, bool& is_unsigned) {
  is_unsigned = false;
  switch (t) {
    case GgufValueType::U8: uout = *p; is_unsigned = true; return true;
    case GgufValueType::I8: { int8_t v; std::memcpy(&v, p, 1); out = v; return true; }
    case GgufValueType::U16: { uint16_t v; std::memcpy(&v, p, 2); uout = v; is_unsigned = true; return true; }
    case GgufValueType::I16: { int16_t v; std::memcpy(&v, p, 2); out = v; return true; }
    case GgufValueType::U32: { uint32_t v; std::memcpy(&v, p, 4); uout = v; is_unsigned = true; return true; }
    case GgufValueType::I32: { int32_t v; std::memcpy(&v, p, 4); out = v; return true; }
    case GgufValueType::U64: { uint64_t v; std::memcpy(&v, p, 8); uout = v; is_unsigned = true; return true; }
    case GgufValueType::I64: { int64_t v; std::memcpy(&v, p, 8); out = v; return true; }
    default: return false;
  }
}

}  // namespace

std::optional<std::string_view> GgufReader::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::String)
    fail("GGUF file {}: key '{}' is {}, expected string", name_, key, gguf_type_name(v->type));
  return v->str;
}

// The integer stored under `key`, as (signed, unsigned, is_unsigned); nullopt when absent.
std::optional<std::tuple<int64_t, uint64_t, bool>> GgufReader::find_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  int64_t s = 0;
  uint64_t u = 0;
  bool is_u = false;
  if (!read_int(v->type, v->data, s, u, is_u))
    fail("GGUF file {}: key '{}' is {}, expected an integer", name_, key, gguf_type_name(v->type));
  return std::tuple{s, u, is_u};
}

std::optional<uint64_t> GgufReader::get_uint(std::string_view key) const {
  auto found = find_int(key);
  if (!found) return std::nullopt;
  auto [s, u, is_u] = *found;
  if (is_u) return u;
  if (s < 0) fail("GGUF file {}: key '{}' is negative ({})", name_, key, s);
  return static_cast<uint64_t>(s);
}

std::optional<int64_t> GgufReader::get_int(std::string_view key) const {
  auto found = find_int(key);
  if (!found) return std::nullopt;
  auto [s, u, is_u] = *found;
  if (is_u) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("GGUF file {}: key '{}' value {} does not fit in int64", name_, key, u);
    return static_cast<int64_t>(u);
  }
  return s;
}

std::optional<double> GgufReader::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufValueType::F32) {
    float f;
    std::memcpy(&f, v->data, 4);
    return f;
  }
  if (v->type == GgufValueType::F64) {
    double d;
    std::memcpy(&d, v->data, 8);
    return d;
  }
  fail("GGUF file {}: key '{}' is {}, expected f32 or f64", name_, key, gguf_type_name(v->type));
}

std::optional<bool> GgufReader::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::Bool)
    fail("GGUF file {}: key '{}' is {}, expected bool", name_, key, gguf_type_name(v->type));
  return *v->data != 0;
}

std::vector<std::string_view> GgufReader::string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("GGUF file {}: missing key '{}'", name_, key);
  if (v->type != GgufValueType::Array || v->elem_type != GgufValueType::String)
    fail("GGUF file {}: key '{}' is not an array of strings", name_, key);
  std::vector<std::string_view> out;
  out.reserve(v->count);
  // Already bounds-checked at parse time.
  const uint8_t* p = v->data;
  for (uint64_t i = 0; i < v->count; ++i) {
    uint64_t len;
    std::memcpy(&len, p, 8);
    out.emplace_back(reinterpret_cast<const char*>(p + 8), len);
    p += 8 + len;
  }
  return out;
}

std::vector<int64_t> GgufReader::int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("GGUF file {}: missing key '{}'", name_, key);
  if (v->type != GgufValueType::Array) fail("GGUF file {}: key '{}' is not an array", name_, key);
  size_t sz = gguf_scalar_size(v->elem_type);
  std::vector<int64_t> out;
  out.reserve(v->count);
  for (uint64_t i = 0; i < v->count; ++i) {
    int64_t s = 0;
    uint64_t u = 0;
    bool is_u = false;
    if (!read_int(v->elem_type, v->data + i * sz, s, u, is_u))
      fail("GGUF file {}: key '{}' is an array of {}, expected integers", name_, key, gguf_type_name(v->elem_type));
    if (is_u) {
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("GGUF file {}: key '{}' element {} does not fit in int64", name_, key, i);
      s = static_cast<int64_t>(u);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<double> GgufReader::float_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("GGUF file {}: missing key '{}'", name_, key);
  if (v->type != GgufValueType::Array ||
      (v->elem_type != GgufValueType::F32 && v->elem_type != GgufValueType::F64))
    fail("GGUF file {}: key '{}' is not an array of f32/f64", name_, key);
  std::vector<double> out;
  out.reserve(v->count);
  for (uint64_t i = 0; i < v->count; ++i) {
    if (v->elem_type == GgufValueType::F32) {
      float f;
      std::memcpy(&f, v->data + i * 4, 4);
      out.push_back(f);
    } else {
      double d;
      std::memcpy(&d, v->data + i * 8, 8);
      out.push_back(d);
    }
  }
  return out;
}

}  // namespace baimo
