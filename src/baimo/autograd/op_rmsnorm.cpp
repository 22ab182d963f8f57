// rmsnorm: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps) per row (saved for backward).
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var rmsnorm(const Var& x, const Var& weight, float eps) {
  using namespace detail;
  require_f32("rmsnorm", x, "x");
  require_f32("rmsnorm", weight, "weight");
  const int64_t C = x.size(-1);
  if (weight.numel() != C) fail("rmsnorm: weight {} does not match x {}", weight.shape().str(), x.shape().str());
  const int64_t rows = rows_of(x.value());
  Tensor out = alloc(x.shape());
  Tensor rstd = alloc({rows});
  backend().rmsnorm_fwd(x.value().data<float>(), weight.value().data<float>(), rows, C, eps, out.data<float>(),
                        rstd.data<float>());
  Var y = make_output(out, should_record(x, weight));
  if (y.requires_grad()) {
    tape().record([x, weight, y, rstd, rows, C] {
      if (!y.has_grad()) return;
      bool acc_x = false, acc_w = false;
      float* dx = x.requires_grad() ? x.grad_for_write(acc_x) : nullptr;
      float* dw = weight.requires_grad() ? weight.grad_for_write(acc_w) : nullptr;
      backend().rmsnorm_bwd(y.node()->grad.data<float>(), x.value().data<float>(), weight.value().data<float>(),
                            rstd.data<float>(), rows, C, dx, acc_x, dw, acc_w);
    });
  }
  return y;
}

}  // namespace baimo::ag
