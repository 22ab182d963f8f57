// Arena: bump allocator for a training step's activations and activation gradients.
// Contract: alloc() returns 64-byte aligned, uninitialized memory valid until reset(). reset()
// frees nothing to the OS: if a step needed more than one block, the blocks are merged into a
// single block of the high-water size, so from the second step on a step does no malloc at all.
// Not thread-safe: allocate from one thread (kernels parallelize inside, not across allocations).
// mark() / rewind(m): every tensor allocated after m is dead after rewind(m) (its memory is handed
// out again); blocks are kept. For scoped scratch inside a step (activation checkpointing).
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "baimo/tensor/tensor.h"

namespace baimo {

class Arena {
 public:
  explicit Arena(size_t first_block_bytes = size_t(64) << 20);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* alloc_bytes(size_t bytes);
  Tensor alloc(const Shape& shape, DType dtype = DType::F32);  // uninitialized, borrowed
  Tensor alloc_zeros(const Shape& shape, DType dtype = DType::F32);
  void reset();
  struct Mark {
    size_t block_index = 0, offset = 0, used = 0;
  };
  Mark mark() const { return {block_index_, offset_, used_}; }
  void rewind(const Mark& m);
  size_t used() const { return used_; }
  size_t high_water() const { return high_water_; }
  size_t capacity() const;

 private:
  struct Block {
    char* data;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t block_index_ = 0;  // block being filled
  size_t offset_ = 0;       // offset inside it
  size_t used_ = 0;         // bytes handed out since reset
  size_t high_water_ = 0;
  size_t next_block_bytes_;
};

}  // namespace baimo
