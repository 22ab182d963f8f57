// cross_entropy and token_logprobs: fused log-softmax over the vocabulary. Forward keeps one
// log-sum-exp per row; backward writes softmax - onehot scaled per row in one pass.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

void check(const char* name, const Var& logits, const Tensor& targets, int32_t ignore_index) {
  using namespace detail;
  require_f32(name, logits, "logits");
  require_i32(name, targets, "targets");
  const int64_t V = logits.size(-1), N = rows_of(logits.value());
  if (targets.numel() != N)
    fail("{}: targets {} must have one entry per row of logits {}", name, targets.shape().str(), logits.shape().str());
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < N; ++r)
    if (t[r] != ignore_index && (t[r] < 0 || t[r] >= V))
      fail("{}: target {} at row {} is outside [0, {}) and not the ignore index {}", name, t[r], r, V, ignore_index);
}

}  // namespace

Var cross_entropy(const Var& logits, const Tensor& targets, int32_t ignore_index) {
  using namespace detail;
  check("cross_entropy", logits, targets, ignore_index);
  const int64_t V = logits.size(-1), N = rows_of(logits.value());
  Tensor lse = alloc({N});
  Tensor picked = alloc({N});
  backend().logsoftmax_rows(logits.value().data<float>(), targets.data<int32_t>(), N, V, ignore_index,
                            lse.data<float>(), picked.data<float>());
  const int32_t* t = targets.data<int32_t>();
  int64_t count = 0;
  for (int64_t r = 0; r < N; ++r) count += t[r] != ignore_index;
  Tensor out = alloc({1});
  out.data<float>()[0] = count ? static_cast<float>(-backend().sum(picked.data<float>(), nullptr, N) / count) : 0.f;
  Var y = make_output(out, should_record(logits));
  if (y.requires_grad()) {
    tape().record([logits, targets, y, lse, N, V, ignore_index, count] {
      if (!y.has_grad()) return;
      const float g = count ? y.node()->grad.data<float>()[0] / static_cast<float>(count) : 0.f;
      Tensor coef = alloc({N});
      std::fill(coef.data<float>(), coef.data<float>() + N, g);
      bool acc;
      float* dl = logits.grad_for_write(acc);
      backend().logsoftmax_pick_bwd(logits.value().data<float>(), targets.data<int32_t>(), lse.data<float>(),
                                    coef.data<float>(), N, V, ignore_index, dl, acc);
    });
  }
  return y;
}

Var token_logprobs(const Var& logits, const Tensor& targets, int32_t ignore_index) {
  using namespace detail;
  check("token_logprobs", logits, targets, ignore_index);
  const int64_t V = logits.size(-1), N = rows_of(logits.value());
  Tensor lse = alloc({N});
  Tensor out = alloc(targets.shape());
  backend().logsoftmax_rows(logits.value().data<float>(), targets.data<int32_t>(), N, V, ignore_index,
                            lse.data<float>(), out.data<float>());
  Var y = make_output(out, should_record(logits));
  if (y.requires_grad()) {
    tape().record([logits, targets, y, lse, N, V, ignore_index] {
      if (!y.has_grad()) return;
      // d picked / d logits = onehot - softmax = -(softmax - onehot): coefficient -dy per row.
      Tensor coef = alloc({N});
      const float* dy = y.node()->grad.data<float>();
      for (int64_t r = 0; r < N; ++r) coef.data<float>()[r] = -dy[r];
      bool acc;
      float* dl = logits.grad_for_write(acc);
      backend().logsoftmax_pick_bwd(logits.value().data<float>(), targets.data<int32_t>(), lse.data<float>(),
                                    coef.data<float>(), N, V, ignore_index, dl, acc);
    });
  }
  return y;
}

}  // namespace baimo::ag
