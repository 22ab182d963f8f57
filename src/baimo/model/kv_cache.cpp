#include "baimo/model/kv_cache.h"

#include <cstring>

#include "baimo/util/error.h"

namespace baimo {

KvCache::KvCache(const ModelConfig& cfg, int n_slots, int64_t ctx)
    : layers_(cfg.num_hidden_layers), kv_dim_(cfg.kv_dim()), n_slots_(n_slots), ctx_(ctx) {
  if (n_slots < 1) fail("KV cache: need at least one slot, got {}", n_slots);
  if (ctx < 1) fail("KV cache: context must be at least 1 position, got {}", ctx);
  if (layers_ < 1 || kv_dim_ < 1) fail("KV cache: the model config has no layers or no key/value heads");
  const int64_t n = layers_ * n_slots_ * ctx_ * kv_dim_;
  if (n / ctx_ / n_slots_ != layers_ * kv_dim_ || n > (int64_t{1} << 40))
    fail("KV cache: {} slots x {} positions is too large for this model", n_slots, ctx);
  // Not value-initialised: pages are only backed by memory once written.
  k_.reset(new float[static_cast<size_t>(n)]);
  v_.reset(new float[static_cast<size_t>(n)]);
  length_.assign(static_cast<size_t>(n_slots), 0);
}

void KvCache::check_slot(int slot, const char* what) const {
  if (slot < 0 || slot >= n_slots_) fail("KV cache {}: slot {} out of range (0..{})", what, slot, n_slots_ - 1);
}

int64_t KvCache::length(int slot) const {
  check_slot(slot, "length");
  return length_[static_cast<size_t>(slot)];
}

void KvCache::truncate(int slot, int64_t n) {
  check_slot(slot, "truncate");
  if (n < 0 || n > length_[static_cast<size_t>(slot)])
    fail("KV cache truncate: slot {} holds {} positions, cannot truncate to {}", slot, length_[slot], n);
  length_[static_cast<size_t>(slot)] = n;
}

void KvCache::set_length(int slot, int64_t n) {
  check_slot(slot, "set_length");
  if (n < 0 || n > ctx_) fail("KV cache: length {} outside 0..{}", n, ctx_);
  length_[static_cast<size_t>(slot)] = n;
}

void KvCache::copy_prefix(int from, int to, int64_t n) {
  check_slot(from, "copy_prefix");
  check_slot(to, "copy_prefix");
  if (n < 0 || n > length_[static_cast<size_t>(from)])
    fail("KV cache copy_prefix: slot {} holds {} positions, cannot copy {}", from, length_[from], n);
  if (from != to) {
    const size_t bytes = static_cast<size_t>(n * kv_dim_) * sizeof(float);
    for (int64_t l = 0; l < layers_; ++l) {
      std::memcpy(keys(l, to), keys(l, from), bytes);
      std::memcpy(values(l, to), values(l, from), bytes);
    }
  }
  length_[static_cast<size_t>(to)] = n;
}

}  // namespace baimo
