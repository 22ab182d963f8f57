// linear: y = x W^T (+ b) with W in Hugging Face layout (out, in). Forward is one sgemm; backward
// is two: dx = dy W and dW (+)= dy^T x (beta = 1 when accumulating), db (+)= column sums of dy.
#include <algorithm>
#include <cstring>

#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var linear(const Var& x, const Var& weight, const Var& bias) {
  using namespace detail;
  require_f32("linear", x, "x");
  require_f32("linear", weight, "weight");
  if (weight.value().dim() != 2) fail("linear: weight must be (out, in), got {}", weight.shape().str());
  const int64_t out_f = weight.size(0), in_f = weight.size(1);
  if (x.value().dim() < 1 || x.size(-1) != in_f)
    fail("linear: x {} does not end in in_features {} of weight {}", x.shape().str(), in_f, weight.shape().str());
  if (bias.defined()) {
    require_f32("linear", bias, "bias");
    if (bias.numel() != out_f) fail("linear: bias {} does not match out_features {}", bias.shape().str(), out_f);
  }
  const int64_t M = rows_of(x.value());
  Shape os = x.shape();
  os.d[os.n - 1] = out_f;
  Tensor out = alloc(os);
  float* y = out.data<float>();
  float beta = 0.f;
  if (bias.defined()) {
    const float* b = bias.value().data<float>();
#pragma omp parallel for schedule(static) if (M * out_f > 65536)
    for (int64_t r = 0; r < M; ++r) std::memcpy(y + r * out_f, b, out_f * sizeof(float));
    beta = 1.f;
  }
  backend().gemm(false, true, M, out_f, in_f, 1.f, x.value().data<float>(), in_f, weight.value().data<float>(), in_f,
                 beta, y, out_f);
  Var res = make_output(out, should_record(x, weight, bias));
  if (res.requires_grad()) {
    tape().record([x, weight, bias, res, M, in_f, out_f] {
      if (!res.has_grad()) return;
      const float* dy = res.node()->grad.data<float>();
      bool acc;
      if (x.requires_grad()) {
        float* dx = x.grad_for_write(acc);
        backend().gemm(false, false, M, in_f, out_f, 1.f, dy, out_f, weight.value().data<float>(), in_f, acc ? 1.f : 0.f,
                       dx, in_f);
      }
      if (weight.requires_grad()) {
        float* dW = weight.grad_for_write(acc);
        backend().gemm(true, false, out_f, in_f, M, 1.f, dy, out_f, x.value().data<float>(), in_f, acc ? 1.f : 0.f, dW,
                       in_f);
      }
      if (bias.defined() && bias.requires_grad()) {
        float* db = bias.grad_for_write(acc);
        backend().sum_rows(dy, M, out_f, db, acc);
      }
    });
  }
  return res;
}

}  // namespace baimo::ag
