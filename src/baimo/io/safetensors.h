// Safetensors (https://github.com/huggingface/safetensors): read through mmap, write atomically.
// File layout: u64 little-endian header length N, N bytes of JSON header
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
// then the data buffer; offsets are relative to the buffer's start.
// Contract (reading): the header is fully validated before any tensor is touched -- header length
// (≤ 100 MB and inside the file), JSON syntax, field types, known dtype, shape × dtype size ==
// e - b, offsets inside the buffer and not overlapping. Any violation throws baimo::Error naming the
// file and, where there is one, the tensor; no input makes it read out of bounds.
// Tensors of dtype F32, F16 and BF16 convert to f32 on request; I32, I64, U8 convert to int64.
// Contract (writing): f32 data is stored as F32, F16 or BF16 (round to nearest even), the header is
// padded with spaces to a multiple of 8 bytes, the file appears atomically (temp + fsync + rename).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "baimo/tensor/dtype.h"
#include "baimo/util/file_io.h"

namespace baimo {

struct SafetensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;  // points into the file's mapping (or the parsed buffer)
  int64_t numel() const;
};

// A parsed view over safetensors bytes; does not own them.
class SafetensorsView {
 public:
  // `where` names the source (a path) in error messages.
  SafetensorsView(std::span<const uint8_t> file_bytes, std::string where);

  const std::vector<SafetensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const SafetensorInfo* find(const std::string& name) const;
  // Throws baimo::Error naming the file and the tensor when absent.
  const SafetensorInfo& get(const std::string& name) const;

  // Converts a float tensor to f32; out.size() must equal numel (else baimo::Error naming the tensor).
  void read_f32(const SafetensorInfo& t, std::span<float> out) const;
  std::vector<float> read_f32(const std::string& name) const;
  // Reads an integer tensor (I32, I64 or U8) as int64 (else baimo::Error naming the tensor).
  std::vector<int64_t> read_i64(const std::string& name) const;
  // Checks that tensor `name` exists with exactly this shape, then converts it into out.
  void read_f32_checked(const std::string& name, const std::vector<int64_t>& shape, std::span<float> out) const;

  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::vector<SafetensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A safetensors file mapped into memory; the view stays valid while the object lives.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const SafetensorsView& view() const { return *view_; }
  const SafetensorsView* operator->() const { return view_.get(); }

 private:
  MappedFile file_;
  std::unique_ptr<SafetensorsView> view_;
};

// One f32 tensor to write; data.size() must equal the product of shape.
struct SafetensorWrite {
  std::string name;
  std::vector<int64_t> shape;
  std::span<const float> data;
};

// dtype: F32, F16 or BF16 (others are a programming error -> baimo::Error).
// Tensors are laid out in the given order; names must be unique and non-empty.
void save_safetensors(const std::string& path, const std::vector<SafetensorWrite>& tensors, DType dtype = DType::F32,
                      const std::map<std::string, std::string>& metadata = {});
// The same bytes in memory (for tests and fuzz seeds).
std::string encode_safetensors(const std::vector<SafetensorWrite>& tensors, DType dtype = DType::F32,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace baimo
