// Safetensors writer (see safetensors.h): header, then each tensor converted in chunks.
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "baimo/kernels/half_float.h"
#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

using ojson = nlohmann::ordered_json;

std::string build_header(const std::vector<SafetensorWrite>& tensors, DType dtype,
                         const std::map<std::string, std::string>& metadata) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail("safetensors: cannot write dtype {} (only F32, F16, BF16)", dtype_info(dtype).name);
  const size_t elem = dtype_info(dtype).block_bytes;
  ojson h = ojson::object();
  if (!metadata.empty()) {
    ojson m = ojson::object();
    for (auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") fail("safetensors: invalid tensor name \"{}\"", t.name);
    if (!seen.insert(t.name).second) fail("safetensors: duplicate tensor name \"{}\"", t.name);
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) fail("safetensors: tensor \"{}\" has a negative dimension", t.name);
      n *= static_cast<uint64_t>(d);
    }
    if (n != t.data.size())
      fail("safetensors: tensor \"{}\" has {} values but its shape needs {}", t.name, t.data.size(), n);
    uint64_t bytes = n * elem;
    h[t.name] = {{"dtype", std::string(dtype_info(dtype).name)},
                 {"shape", t.shape},
                 {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');  // keep the data buffer 8-byte aligned
  return s;
}

// Calls sink(bytes, n) with the file's content in order.
template <class Sink>
void emit(const std::vector<SafetensorWrite>& tensors, DType dtype, const std::map<std::string, std::string>& metadata,
          Sink&& sink) {
  std::string header = build_header(tensors, dtype, metadata);
  uint8_t len[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  sink(len, 8);
  sink(reinterpret_cast<const uint8_t*>(header.data()), header.size());
  constexpr size_t kChunk = 1 << 16;
  std::vector<uint8_t> buf(kChunk * 2);
  for (const auto& t : tensors) {
    if (dtype == DType::F32) {
      sink(reinterpret_cast<const uint8_t*>(t.data.data()), t.data.size() * 4);
      continue;
    }
    for (size_t i = 0; i < t.data.size(); i += kChunk) {
      size_t m = std::min(kChunk, t.data.size() - i);
      if (dtype == DType::F16)
        f32_to_f16_bytes(t.data.data() + i, buf.data(), m);
      else
        f32_to_bf16_bytes(t.data.data() + i, buf.data(), m);
      sink(buf.data(), 2 * m);
    }
  }
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<SafetensorWrite>& tensors, DType dtype,
                      const std::map<std::string, std::string>& metadata) {
  build_header(tensors, dtype, metadata);  // validate before creating anything
  write_file_atomic(path, [&](std::FILE* f) {
    emit(tensors, dtype, metadata, [&](const uint8_t* p, size_t n) {
      if (n && std::fwrite(p, 1, n, f) != n) fail("{}: write failed", path);
    });
  });
}

std::string encode_safetensors(const std::vector<SafetensorWrite>& tensors, DType dtype,
                               const std::map<std::string, std::string>& metadata) {
  std::string out;
  emit(tensors, dtype, metadata, [&](const uint8_t* p, size_t n) { if (n) out.append(reinterpret_cast<const char*>(p), n); });
  return out;
}

}  // namespace baimo
