// embedding: out[n, :] = weight[ids[n], :]; backward scatters rows of dout into d(weight).
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var embedding(const Var& weight, const Tensor& ids) {
  using namespace detail;
  require_f32("embedding", weight, "weight");
  require_i32("embedding", ids, "ids");
  if (weight.value().dim() != 2) fail("embedding: weight must be (V, C), got {}", weight.shape().str());
  if (ids.dim() < 1 || ids.dim() > 3) fail("embedding: ids must have 1 to 3 dims, got {}", ids.shape().str());
  const int64_t V = weight.size(0), C = weight.size(1), n = ids.numel();
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    if (id[i] < 0 || id[i] >= V) fail("embedding: token id {} at position {} is outside [0, {})", id[i], i, V);
  Shape os = ids.shape();
  os.d[os.n++] = C;
  Tensor out = alloc(os);
  backend().embedding_fwd(weight.value().data<float>(), id, n, C, out.data<float>());
  Var y = make_output(out, should_record(weight));
  if (y.requires_grad()) {
    tape().record([weight, ids, y, n, C, V] {
      if (!y.has_grad()) return;
      bool acc;
      float* dW = weight.grad_for_write(acc);
      if (!acc) std::fill(dW, dW + V * C, 0.f);
      backend().embedding_bwd(y.node()->grad.data<float>(), ids.data<int32_t>(), n, C, V, dW);
    });
  }
  return y;
}

}  // namespace baimo::ag
