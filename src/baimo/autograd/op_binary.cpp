// Elementwise binary ops on same-shape Vars: add, sub, mul, minimum, maximum.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Min: return "minimum";
    case BinaryOp::Max: return "maximum";
  }
  return "?";
}

Var binary_op(BinaryOp op, const Var& a, const Var& b) {
  using namespace detail;
  require_f32(op_name(op), a, "a");
  require_f32(op_name(op), b, "b");
  if (!(a.shape() == b.shape())) fail("{}: shapes {} and {} differ", op_name(op), a.shape().str(), b.shape().str());
  const int64_t n = a.numel();
  Tensor out = alloc(a.shape());
  backend().binary(op, a.value().data<float>(), b.value().data<float>(), n, out.data<float>());
  Var y = make_output(out, should_record(a, b));
  if (y.requires_grad()) {
    tape().record([op, a, b, y, n] {
      if (!y.has_grad()) return;
      bool aa = false, ab = false;
      float* da = a.requires_grad() ? a.grad_for_write(aa) : nullptr;
      float* db = b.requires_grad() ? b.grad_for_write(ab) : nullptr;
      backend().binary_bwd(op, a.value().data<float>(), b.value().data<float>(), y.node()->grad.data<float>(), n, da,
                           aa, db, ab);
    });
  }
  return y;
}

}  // namespace

Var add(const Var& a, const Var& b) { return binary_op(BinaryOp::Add, a, b); }
Var sub(const Var& a, const Var& b) { return binary_op(BinaryOp::Sub, a, b); }
Var mul(const Var& a, const Var& b) { return binary_op(BinaryOp::Mul, a, b); }
Var minimum(const Var& a, const Var& b) { return binary_op(BinaryOp::Min, a, b); }
Var maximum(const Var& a, const Var& b) { return binary_op(BinaryOp::Max, a, b); }

}  // namespace baimo::ag
