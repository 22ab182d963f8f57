// Safetensors reader: header validation and f32 conversion (see safetensors.h).
#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "baimo/kernels/half_float.h"
#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the limit the reference implementation uses

bool parse_dtype(const std::string& s, DType* out) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16},
      {"I32", DType::I32}, {"I64", DType::I64}, {"U8", DType::U8},
  };
  for (auto& [name, t] : table)
    if (s == name) {
      *out = t;
      return true;
    }
  return false;
}

// Reads a JSON value as a non-negative integer that fits in uint64.
bool as_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

int64_t SafetensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsView::SafetensorsView(std::span<const uint8_t> bytes, std::string where) : where_(std::move(where)) {
  if (bytes.size() < 8) fail("{}: not a safetensors file: {} bytes, shorter than the 8-byte header length", where_,
                             bytes.size());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeaderBytes) fail("{}: safetensors header length {} exceeds the 100 MB limit", where_, n);
  if (n > bytes.size() - 8)
    fail("{}: safetensors header length {} runs past the end of the file ({} bytes): truncated or not safetensors",
         where_, n, bytes.size());
  if (n < 2 || bytes[8] != '{') fail("{}: safetensors header does not start with '{{'", where_);
  const char* hdr = reinterpret_cast<const char*>(bytes.data() + 8);
  json j;
  try {
    j = json::parse(hdr, hdr + n);
  } catch (const json::exception& e) {
    fail("{}: safetensors header is not valid JSON: {}", where_, e.what());
  }
  if (!j.is_object()) fail("{}: safetensors header must be a JSON object", where_);
  std::span<const uint8_t> buffer = bytes.subspan(8 + n);

  struct Range {
    uint64_t b, e;
    size_t idx;
  };
  std::vector<Range> ranges;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail("{}: \"__metadata__\" must be an object of strings", where_);
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) fail("{}: \"__metadata__\" field \"{}\" must be a string", where_, k);
        metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) fail("{}: tensor \"{}\": entry must be an object", where_, name);
    for (const auto& [k, _] : v.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets")
        fail("{}: tensor \"{}\": unknown field \"{}\"", where_, name, k);
    if (!v.contains("dtype") || !v["dtype"].is_string())
      fail("{}: tensor \"{}\": missing or non-string \"dtype\"", where_, name);
    SafetensorInfo t;
    t.name = name;
    std::string ds = v["dtype"].get<std::string>();
    if (!parse_dtype(ds, &t.dtype)) fail("{}: tensor \"{}\": unsupported dtype \"{}\"", where_, name, ds);
    if (!v.contains("shape") || !v["shape"].is_array())
      fail("{}: tensor \"{}\": missing or non-list \"shape\"", where_, name);
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      uint64_t x;
      if (!as_u64(d, &x)) fail("{}: tensor \"{}\": shape entries must be non-negative integers", where_, name);
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (x != 0 && numel > (uint64_t{1} << 62) / x))
        fail("{}: tensor \"{}\": shape is too large", where_, name);
      numel *= x;
      t.shape.push_back(static_cast<int64_t>(x));
    }
    const json* off = v.contains("data_offsets") ? &v["data_offsets"] : nullptr;
    uint64_t b, e;
    if (!off || !off->is_array() || off->size() != 2 || !as_u64((*off)[0], &b) || !as_u64((*off)[1], &e))
      fail("{}: tensor \"{}\": \"data_offsets\" must be two non-negative integers", where_, name);
    if (b > e || e > buffer.size())
      fail("{}: tensor \"{}\": data_offsets [{}, {}] out of range (data buffer is {} bytes)", where_, name, b, e,
           buffer.size());
    uint64_t want = numel * dtype_info(t.dtype).block_bytes;
    if (e - b != want)
      fail("{}: tensor \"{}\": data_offsets span {} bytes but shape × {} needs {}", where_, name, e - b, ds, want);
    t.bytes = buffer.subspan(b, e - b);
    ranges.push_back({b, e, tensors_.size()});
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) { return x.b < y.b || (x.b == y.b && x.e < y.e); });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].b < ranges[i - 1].e)
      fail("{}: tensors \"{}\" and \"{}\" overlap in the data buffer", where_, tensors_[ranges[i - 1].idx].name,
           tensors_[ranges[i].idx].name);
}

const SafetensorInfo* SafetensorsView::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorInfo& SafetensorsView::get(const std::string& name) const {
  const SafetensorInfo* t = find(name);
  if (!t) fail("{}: missing tensor \"{}\"", where_, name);
  return *t;
}

void SafetensorsView::read_f32(const SafetensorInfo& t, std::span<float> out) const {
  size_t n = static_cast<size_t>(t.numel());
  if (out.size() != n) fail("{}: tensor \"{}\" has {} elements, expected {}", where_, t.name, n, out.size());
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
    fail("{}: tensor \"{}\" has dtype {}, expected a float type (F32, F16, BF16)", where_, t.name,
         dtype_info(t.dtype).name);
  if (n == 0) return;
  if (t.dtype == DType::F32)
    std::memcpy(out.data(), t.bytes.data(), 4 * n);
  else if (t.dtype == DType::F16)
    f16_bytes_to_f32(t.bytes.data(), out.data(), n);
  else
    bf16_bytes_to_f32(t.bytes.data(), out.data(), n);
}

std::vector<float> SafetensorsView::read_f32(const std::string& name) const {
  const SafetensorInfo& t = get(name);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  read_f32(t, out);
  return out;
}

std::vector<int64_t> SafetensorsView::read_i64(const std::string& name) const {
  const SafetensorInfo& t = get(name);
  if (t.dtype != DType::I64 && t.dtype != DType::I32 && t.dtype != DType::U8)
    fail("{}: tensor \"{}\" has dtype {}, expected an integer type (I64, I32, U8)", where_, name,
         dtype_info(t.dtype).name);
  size_t n = static_cast<size_t>(t.numel());
  std::vector<int64_t> out(n);
  const uint8_t* p = t.bytes.data();
  for (size_t i = 0; i < n; ++i) {
    if (t.dtype == DType::I64) {
      std::memcpy(&out[i], p + 8 * i, 8);
    } else if (t.dtype == DType::I32) {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
    } else {
      out[i] = p[i];
    }
  }
  return out;
}

void SafetensorsView::read_f32_checked(const std::string& name, const std::vector<int64_t>& shape,
                                       std::span<float> out) const {
  const SafetensorInfo& t = get(name);
  if (t.shape != shape) {
    auto str = [](const std::vector<int64_t>& s) {
      std::string r = "[";
      for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
      return r + "]";
    };
    fail("{}: tensor \"{}\" has shape {}, expected {}", where_, name, str(t.shape), str(shape));
  }
  read_f32(t, out);
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(path), view_(std::make_unique<SafetensorsView>(file_.bytes(), path)) {}

}  // namespace baimo
