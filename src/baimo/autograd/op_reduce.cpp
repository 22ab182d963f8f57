// Reductions to one value: sum, mean, masked_sum, masked_mean; and reshape (a view).
#include <algorithm>

#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

// y = coef * sum(x * mask) (mask may be undefined = all ones); dx (+)= dy * coef * mask.
Var weighted_sum(const char* name, const Var& x, const Tensor& mask, double coef_or_neg) {
  using namespace detail;
  require_f32(name, x, "x");
  const int64_t n = x.numel();
  const float* m = nullptr;
  if (mask.defined()) {
    if (mask.dtype() != DType::F32 || mask.numel() != n)
      fail("{}: mask {} must be F32 with the {} elements of x {}", name, mask.shape().str(), n, x.shape().str());
    m = mask.data<float>();
  }
  double coef = coef_or_neg;
  if (coef_or_neg < 0) {  // mean: divide by the mask total (or n)
    double total = m ? backend().sum(m, nullptr, n) : static_cast<double>(n);
    coef = total != 0 ? 1.0 / total : 0.0;
  }
  Tensor out = alloc({1});
  out.data<float>()[0] = static_cast<float>(coef * backend().sum(x.value().data<float>(), m, n));
  Var y = make_output(out, should_record(x));
  if (y.requires_grad()) {
    Tensor mask_kept = mask;
    tape().record([x, y, mask_kept, n, coef] {
      if (!y.has_grad()) return;
      const float g = static_cast<float>(y.node()->grad.data<float>()[0] * coef);
      bool acc;
      float* dx = x.grad_for_write(acc);
      if (mask_kept.defined()) {
        // dx (+)= g * mask
        backend().axpy(g, mask_kept.data<float>(), n, dx, acc);
      } else {
        if (!acc) std::fill(dx, dx + n, g);
        else
          for (int64_t i = 0; i < n; ++i) dx[i] += g;
      }
    });
  }
  return y;
}

}  // namespace

Var sum(const Var& x) { return weighted_sum("sum", x, Tensor(), 1.0); }
Var mean(const Var& x) { return weighted_sum("mean", x, Tensor(), -1.0); }
Var masked_sum(const Var& x, const Tensor& mask) {
  if (!mask.defined()) fail("masked_sum: mask is undefined");
  return weighted_sum("masked_sum", x, mask, 1.0);
}
Var masked_mean(const Var& x, const Tensor& mask) {
  if (!mask.defined()) fail("masked_mean: mask is undefined");
  return weighted_sum("masked_mean", x, mask, -1.0);
}

Var reshape(const Var& x, const Shape& shape) {
  using namespace detail;
  if (!x.defined()) fail("reshape: x is undefined");
  if (shape.numel() != x.numel()) fail("reshape: cannot reshape {} to {}", x.shape().str(), shape.str());
  Var y = make_output(x.value().view(shape), should_record(x));
  if (y.requires_grad()) {
    const int64_t n = x.numel();
    tape().record([x, y, n] {
      if (!y.has_grad()) return;
      bool acc;
      float* dx = x.grad_for_write(acc);
      backend().axpy(1.f, y.node()->grad.data<float>(), n, dx, acc);
    });
  }
  return y;
}

}  // namespace baimo::ag
