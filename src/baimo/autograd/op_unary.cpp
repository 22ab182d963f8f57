// Elementwise unary ops: exp, log_sigmoid, neg, scale, add_scalar, clamp, relu, log1m_exp.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

Var unary_op(UnaryOp op, UnaryArgs args, const Var& x) {
  using namespace detail;
  require_f32("unary op", x, "x");
  const int64_t n = x.numel();
  Tensor out = alloc(x.shape());
  backend().unary(op, args, x.value().data<float>(), n, out.data<float>());
  Var y = make_output(out, should_record(x));
  if (y.requires_grad()) {
    tape().record([op, args, x, y, n] {
      if (!y.has_grad()) return;
      bool acc;
      float* dx = x.grad_for_write(acc);
      backend().unary_bwd(op, args, x.value().data<float>(), y.value().data<float>(), y.node()->grad.data<float>(), n,
                          dx, acc);
    });
  }
  return y;
}

}  // namespace

Var exp(const Var& x) { return unary_op(UnaryOp::Exp, {}, x); }
Var log_sigmoid(const Var& x) { return unary_op(UnaryOp::LogSigmoid, {}, x); }
Var neg(const Var& x) { return unary_op(UnaryOp::Neg, {}, x); }
Var scale(const Var& x, float s) { return unary_op(UnaryOp::Scale, {.scale = s}, x); }
Var add_scalar(const Var& x, float s) { return unary_op(UnaryOp::AddScalar, {.scale = s}, x); }
Var relu(const Var& x) { return unary_op(UnaryOp::Relu, {}, x); }
Var log1m_exp(const Var& x) { return unary_op(UnaryOp::Log1mExp, {}, x); }
Var clamp(const Var& x, float lo, float hi) {
  if (!(lo <= hi)) fail("clamp: lo {} must not exceed hi {}", lo, hi);
  return unary_op(UnaryOp::Clamp, {.scale = 1.f, .lo = lo, .hi = hi}, x);
}

}  // namespace baimo::ag
