#include "baimo/tensor/tensor.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "baimo/util/error.h"

namespace baimo {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxDims)) fail("tensor shape has {} dims, at most {} supported", dims.size(), kMaxDims);
  n = static_cast<int>(dims.size());
  for (int i = 0; i < n; ++i) {
    if (dims[i] < 0) fail("tensor shape has negative extent {} at dim {}", dims[i], i);
    d[i] = dims[i];
  }
}

int64_t Shape::numel() const {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= d[i];
  return n == 0 ? 0 : p;
}

bool Shape::operator==(const Shape& o) const {
  if (n != o.n) return false;
  for (int i = 0; i < n; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < n; ++i) s += fmt::format("{}{}", i ? ", " : "", d[i]);
  return s + ")";
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  size_t bytes = (t.nbytes() + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) fail("out of memory allocating a tensor of {} bytes", bytes);
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape, DType::F32);
  t.fill(value);
  return t;
}

Tensor Tensor::from_data(const Shape& shape, std::span<const float> values) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    fail("Tensor::from_data: {} values for shape {}", values.size(), shape.str());
  Tensor t = empty(shape, DType::F32);
  if (!values.empty()) std::memcpy(t.data_, values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_ids(const Shape& shape, std::span<const int32_t> values) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    fail("Tensor::from_ids: {} values for shape {}", values.size(), shape.str());
  Tensor t = empty(shape, DType::I32);
  if (!values.empty()) std::memcpy(t.data_, values.data(), values.size() * sizeof(int32_t));
  return t;
}

Tensor Tensor::wrap(const Shape& shape, DType dtype, void* data, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.data_ = data;
  t.owner_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  if (shape.numel() != numel()) fail("Tensor::view: cannot view {} as {}", shape_.str(), shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

void Tensor::fill(float value) {
  float* p = data<float>();
  const int64_t n = numel();
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

void Tensor::zero() {
  if (nbytes()) std::memset(data_, 0, nbytes());
}

void Tensor::copy_from(const Tensor& src) {
  if (src.numel() != numel() || src.dtype() != dtype_)
    fail("Tensor::copy_from: {} into {}", src.shape().str(), shape_.str());
  if (nbytes()) std::memcpy(data_, src.data_, nbytes());
}

}  // namespace baimo
