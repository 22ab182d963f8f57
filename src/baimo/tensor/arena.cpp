#include "baimo/tensor/arena.h"

#include <cstdlib>
#include <cstring>

#include "baimo/util/error.h"

namespace baimo {

namespace {
constexpr size_t kAlign = 64;
char* allocate_block(size_t bytes) {
  void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
  if (!p) fail("out of memory: activation arena block of {} bytes", bytes);
  return static_cast<char*>(p);
}
}  // namespace

Arena::Arena(size_t first_block_bytes) : next_block_bytes_(first_block_bytes) {}

Arena::~Arena() {
  for (auto& b : blocks_) std::free(b.data);
}

size_t Arena::capacity() const {
  size_t c = 0;
  for (auto& b : blocks_) c += b.size;
  return c;
}

void* Arena::alloc_bytes(size_t bytes) {
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  if (bytes == 0) bytes = kAlign;
  while (block_index_ < blocks_.size()) {
    Block& b = blocks_[block_index_];
    if (offset_ + bytes <= b.size) {
      void* p = b.data + offset_;
      offset_ += bytes;
      used_ += bytes;
      if (used_ > high_water_) high_water_ = used_;
      return p;
    }
    ++block_index_;
    offset_ = 0;
  }
  size_t size = std::max(bytes, next_block_bytes_);
  next_block_bytes_ = size * 2;
  blocks_.push_back({allocate_block(size), size});
  block_index_ = blocks_.size() - 1;
  offset_ = bytes;
  used_ += bytes;
  if (used_ > high_water_) high_water_ = used_;
  return blocks_.back().data;
}

Tensor Arena::alloc(const Shape& shape, DType dtype) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.data_ = alloc_bytes(t.nbytes());
  return t;
}

Tensor Arena::alloc_zeros(const Shape& shape, DType dtype) {
  Tensor t = alloc(shape, dtype);
  t.zero();
  return t;
}

void Arena::rewind(const Mark& m) {
  if (m.used > used_ || m.block_index > block_index_ || (m.block_index == block_index_ && m.offset > offset_))
    fail("Arena::rewind: the mark ({} bytes used) is ahead of the arena ({} bytes used)", m.used, used_);
  block_index_ = m.block_index;
  offset_ = m.offset;
  used_ = m.used;
}

void Arena::reset() {
  // Merge into one block covering the high-water mark (plus slack for alignment padding) so the
  // next step of the same shape allocates nothing.
  if (blocks_.size() > 1) {
    size_t want = high_water_ + high_water_ / 16 + kAlign;
    for (auto& b : blocks_) std::free(b.data);
    blocks_.clear();
    blocks_.push_back({allocate_block(want), want});
    next_block_bytes_ = want;
  }
  block_index_ = 0;
  offset_ = 0;
  used_ = 0;
}

}  // namespace baimo
