#include "baimo/infer/live_weights.h"

#include <memory>
#include <numeric>
#include <vector>

#include "baimo/kernels/backend.h"
#include "baimo/model/lora_merge.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

struct LiveStorage {
  std::shared_ptr<const void> base;
  std::vector<std::shared_ptr<const float[]>> merged;
};

}  // namespace

ModelWeights live_weights(const Transformer& model) {
  ModelWeights w = weights_from_transformer(model, DType::F32);
  const LoraAdapter* adapter = model.lora();
  if (adapter == nullptr) return w;
  check_lora_fits(w.config, *adapter, "live_weights");
  auto st = std::make_shared<LiveStorage>();
  st->base = w.storage;
  const float scaling = adapter->config.scaling();
  std::vector<int32_t> ids;
  for (const LoraAdapter::Pair& p : adapter->pairs) {
    WeightMatrix& m = layer_matrix(w, p.spec.layer, p.spec.role, "live_weights");
    // (out, in) f32 rows of W, from whatever storage it has (packed-only included), then + scaling B A.
    std::shared_ptr<float[]> f(new float[static_cast<size_t>(m.rows * m.cols)]);
    ids.resize(static_cast<size_t>(m.rows));
    std::iota(ids.begin(), ids.end(), 0);
    backend().weight_rows(m, ids.data(), m.rows, f.get());
    add_lora_delta(f.get(), m.rows, m.cols, p.a.value().data<float>(), p.b.value().data<float>(), adapter->config.r,
                   scaling);
    m = WeightMatrix{DType::F32, f.get(), m.rows, m.cols};
    st->merged.push_back(std::move(f));
  }
  w.storage = st;
  return w;
}

}  // namespace baimo
