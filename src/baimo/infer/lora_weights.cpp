#include "baimo/infer/lora_weights.h"

#include <cstring>
#include <memory>
#include <vector>

#include "baimo/kernels/backend.h"
#include "baimo/model/lora_merge.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

struct LoraStorage {
  std::shared_ptr<const void> base;
  std::vector<std::shared_ptr<const void>> buffers;
};

}  // namespace

ModelWeights apply_lora(const ModelWeights& base, const LoraAdapter& adapter, const std::string& where) {
  check_lora_fits(base.config, adapter, where);
  auto st = std::make_shared<LoraStorage>();
  st->base = base.storage;
  ModelWeights w = base;
  const float scaling = adapter.config.scaling();
  for (const LoraAdapter::Pair& p : adapter.pairs) {
    WeightMatrix& m = layer_matrix(w, p.spec.layer, p.spec.role, "LoRA");
    if (m.rows != p.spec.out || m.cols != p.spec.in)
      fail("{}: {} is ({}, {}) in the weights, the adapter expects ({}, {})", where, p.spec.base_name, m.rows, m.cols,
           p.spec.out, p.spec.in);
    const auto n = static_cast<size_t>(m.cols);
    std::vector<float> f(static_cast<size_t>(m.rows) * n);
    const size_t src_row = m.row_bytes();
    const auto* src = static_cast<const uint8_t*>(m.data);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m.rows; ++r)
      quant::dequantize_row(m.type, src + static_cast<size_t>(r) * src_row, f.data() + static_cast<size_t>(r) * n, n);
    add_lora_delta(f.data(), m.rows, m.cols, p.a.value().data<float>(), p.b.value().data<float>(), adapter.config.r,
                   scaling);
    std::shared_ptr<uint8_t[]> buf(new uint8_t[m.bytes()]);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m.rows; ++r)
      quant::quantize_row(m.type, f.data() + static_cast<size_t>(r) * n, buf.get() + static_cast<size_t>(r) * src_row,
                          n);
    m.data = buf.get();
    m.packed = nullptr;
    st->buffers.push_back(buf);
    if (std::shared_ptr<const void> packed = backend().pack_weights(m)) st->buffers.push_back(std::move(packed));
  }
  if (adapter.token_rows.defined()) {
    WeightMatrix& m = w.embed;
    if (m.data == nullptr) fail("{}: the embedding has no rows to replace (a packed copy only)", where);
    const bool tied = base.lm_head.data == base.embed.data;
    const size_t row = m.row_bytes();
    std::shared_ptr<uint8_t[]> buf(new uint8_t[m.bytes()]);
    std::memcpy(buf.get(), m.data, m.bytes());
    const std::vector<int32_t>& ids = adapter.config.trainable_tokens;
    const float* v = adapter.token_rows.value().data<float>();
    for (size_t k = 0; k < ids.size(); ++k)
      quant::quantize_row(m.type, v + static_cast<int64_t>(k) * m.cols, buf.get() + static_cast<size_t>(ids[k]) * row,
                          static_cast<size_t>(m.cols));
    m.data = buf.get();
    m.packed = nullptr;
    st->buffers.push_back(buf);
    if (std::shared_ptr<const void> packed = backend().pack_weights(m)) st->buffers.push_back(std::move(packed));
    if (tied) w.lm_head = m;
  }
  w.storage = st;
  return w;
}

}  // namespace baimo
