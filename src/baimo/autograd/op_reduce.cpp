// Reductions to one value: sum, mean, masked_sum, masked_mean; per group: segment_sum; and reshape (a view).
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

Var segment_sum(const Var& x, const Tensor& groups, int64_t n_groups) {
  using namespace detail;
  require_f32("segment_sum", x, "x");
  require_i32("segment_sum", groups, "groups");
  const int64_t n = x.numel();
  if (groups.numel() != n)
    fail("segment_sum: groups {} must have the {} elements of x {}", groups.shape().str(), n, x.shape().str());
  if (n_groups < 1) fail("segment_sum: n_groups {} must be at least 1", n_groups);
  const int32_t* g = groups.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    if (g[i] < -1 || g[i] >= n_groups)
      fail("segment_sum: groups[{}] = {} is outside [0, {}) and not -1", i, g[i], n_groups);
  Tensor out = alloc({n_groups});
  float* o = out.data<float>();
  std::fill(o, o + n_groups, 0.f);
  const float* xv = x.value().data<float>();
  for (int64_t i = 0; i < n; ++i)
    if (g[i] >= 0) o[g[i]] += xv[i];
  Var y = make_output(out, should_record(x));
  if (y.requires_grad()) {
    tape().record([x, y, groups, n] {
      if (!y.has_grad()) return;
      bool acc;
      float* dx = x.grad_for_write(acc);
      const float* dy = y.node()->grad.data<float>();
      const int32_t* gr = groups.data<int32_t>();
      for (int64_t i = 0; i < n; ++i) {
        const float d = gr[i] >= 0 ? dy[gr[i]] : 0.f;
        dx[i] = acc ? dx[i] + d : d;
      }
    });
  }
  return y;
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
