// KvCache: f32 keys and values of past positions for n_slots independent sequences.
// Layout: K and V each (layer, slot, position, kv_head, head_dim), contiguous per (layer, slot), so
// one slot's attention reads one run of memory per layer. Memory is reserved up front
// (layers * slots * ctx * kv_dim * 2 floats) but the OS only backs pages that are written.
// Contract:
// - length(slot): positions 0 .. length-1 hold valid K/V. The Engine writes positions and then
//   extends the length (set_length); truncate(slot, n) shortens (n <= length); copy_prefix(from, to, n)
//   makes `to` hold the first n positions of `from` (prefix reuse; n <= length(from)), length(to) = n.
// - capacity() = ctx, the most positions a slot can hold. Bad slot / n throw baimo::Error.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "baimo/kernels/kv_view.h"
#include "baimo/model/config.h"

namespace baimo {

class KvCache {
 public:
  KvCache(const ModelConfig& cfg, int n_slots, int64_t ctx);

  int n_slots() const { return n_slots_; }
  int64_t capacity() const { return ctx_; }
  int64_t length(int slot) const;
  void truncate(int slot, int64_t n);
  void copy_prefix(int from, int to, int64_t n);
  void set_length(int slot, int64_t n);  // n <= capacity; the caller has written positions < n

  // (ctx, kv_dim) rows of one (layer, slot); row p is position p.
  float* keys(int64_t layer, int slot) { return k_.get() + offset(layer, slot); }
  float* values(int64_t layer, int slot) { return v_.get() + offset(layer, slot); }
  const float* keys(int64_t layer, int slot) const { return k_.get() + offset(layer, slot); }
  const float* values(int64_t layer, int slot) const { return v_.get() + offset(layer, slot); }
  // One layer's keys and values as the Backend's attention ops read them (kernels/kv_view.h).
  KvView view(int64_t layer) const {
    return {k_.get() + offset(layer, 0), v_.get() + offset(layer, 0), ctx_ * kv_dim_, kv_dim_};
  }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t bytes() const { return 2 * layers_ * n_slots_ * ctx_ * kv_dim_ * static_cast<int64_t>(sizeof(float)); }

 private:
  size_t offset(int64_t layer, int slot) const {
    return static_cast<size_t>((layer * n_slots_ + slot) * ctx_ * kv_dim_);
  }
  void check_slot(int slot, const char* what) const;

  int64_t layers_, kv_dim_;
  int n_slots_;
  int64_t ctx_;
  std::unique_ptr<float[]> k_, v_;
  std::vector<int64_t> length_;
};

}  // namespace baimo
