// rope: rotary position embedding (rotate_half). Backward is the inverse rotation of dy.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var rope(const Var& x, const Tensor& positions, int64_t n_heads, float theta) {
  using namespace detail;
  require_f32("rope", x, "x");
  require_i32("rope", positions, "positions");
  if (x.value().dim() != 3) fail("rope: x must be (B, T, H*D), got {}", x.shape().str());
  const int64_t B = x.size(0), T = x.size(1), HD = x.size(2);
  if (n_heads <= 0 || HD % n_heads != 0 || (HD / n_heads) % 2 != 0)
    fail("rope: last dim {} is not n_heads {} times an even head size", HD, n_heads);
  const int64_t D = HD / n_heads;
  Tensor pos;
  if (positions.dim() == 1 && positions.size(0) == T) {
    pos = alloc({B, T}, DType::I32);
    for (int64_t b = 0; b < B; ++b)
      std::copy(positions.data<int32_t>(), positions.data<int32_t>() + T, pos.data<int32_t>() + b * T);
  } else if (positions.dim() == 2 && positions.size(0) == B && positions.size(1) == T) {
    pos = positions;
  } else {
    fail("rope: positions {} must be (T) or (B, T) for x {}", positions.shape().str(), x.shape().str());
  }
  Tensor out = alloc(x.shape());
  backend().rope(x.value().data<float>(), pos.data<int32_t>(), B, T, n_heads, D, theta, false, out.data<float>(), false);
  Var y = make_output(out, should_record(x));
  if (y.requires_grad()) {
    tape().record([x, y, pos, B, T, n_heads, D, theta] {
      if (!y.has_grad()) return;
      bool acc;
      float* dx = x.grad_for_write(acc);
      backend().rope(y.node()->grad.data<float>(), pos.data<int32_t>(), B, T, n_heads, D, theta, true, dx, acc);
    });
  }
  return y;
}

}  // namespace baimo::ag
