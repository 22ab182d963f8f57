// Tensor: a dense, contiguous, row-major array of up to 4 dimensions over shared storage.
// Contract:
// - Compute dtype is F32 (data<float>()); I32 tensors carry token ids / positions; other dtypes
//   (F16, BF16, block formats) may be held and wrapped but have no compute kernels here.
// - Storage is either owned (64-byte aligned heap, freed with the last copy), wrapped external
//   memory (e.g. an mmap'd safetensors buffer, kept alive by `keep_alive`), or borrowed from an
//   Arena (valid until the arena is reset; such tensors must not outlive the step).
// - Copies are shallow (they share storage); clone() deep-copies. view() reshapes without copying.
// - empty() leaves memory uninitialized; zeros() fills with 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

#include "baimo/tensor/dtype.h"

namespace baimo {

// Shape: up to 4 extents, no heap allocation.
struct Shape {
  static constexpr int kMaxDims = 4;
  int64_t d[kMaxDims] = {0, 0, 0, 0};
  int n = 0;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);
  int64_t operator[](int i) const { return d[i]; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  std::string str() const;  // "(2, 3, 4)"
};

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Shape& shape, DType dtype = DType::F32);  // uninitialized, owned
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  static Tensor full(const Shape& shape, float value);                // F32
  static Tensor from_data(const Shape& shape, std::span<const float> values);      // copies
  static Tensor from_ids(const Shape& shape, std::span<const int32_t> values);     // I32, copies
  // Wraps external memory without copying; keep_alive (may be null) owns it.
  static Tensor wrap(const Shape& shape, DType dtype, void* data, std::shared_ptr<void> keep_alive);

  bool defined() const { return data_ != nullptr; }
  int dim() const { return shape_.n; }
  int64_t size(int i) const { return shape_.d[i < 0 ? i + shape_.n : i]; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return dtype_bytes(dtype_, static_cast<size_t>(numel())); }

  template <class T>
  T* data() const { return static_cast<T*>(data_); }
  void* raw() const { return data_; }

  Tensor view(const Shape& shape) const;  // same storage; numel must match
  Tensor clone() const;                   // owned deep copy
  void fill(float value);                 // F32 only
  void zero();                            // any dtype: bytes set to 0
  void copy_from(const Tensor& src);      // same numel and dtype

 private:
  friend class Arena;
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
  std::shared_ptr<void> owner_;  // null for arena-borrowed tensors
};

}  // namespace baimo
