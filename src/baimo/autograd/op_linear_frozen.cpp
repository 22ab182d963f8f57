// linear_frozen: y = x W^T (+ b) through a frozen weight in any storage type. Forward: Q8_0 / Q4_0
// through the inference product (Backend::weight_matmul: x quantized to int8 blocks, exact integer
// block dots, the packed kernels when w.packed), F32 / F16 / BF16 through tiled dequantize-then-sgemm
// (weight_matmul_f32). The input gradient is always tiled dequantize-then-sgemm (weight_matmul_t);
// the weight gets no gradient, so nothing but the Var handles and the WeightMatrix view is saved.
#include <cstring>

#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var linear_frozen(const Var& x, const WeightMatrix& w, const Var& bias) {
  using namespace detail;
  require_f32("linear_frozen", x, "x");
  if (!w.defined()) fail("linear_frozen: weight ({}, {}) has no data", w.rows, w.cols);
  const int64_t out_f = w.rows, in_f = w.cols;
  if (x.value().dim() < 1 || x.size(-1) != in_f)
    fail("linear_frozen: x {} does not end in in_features {} of weight ({}, {}) {}", x.shape().str(), in_f, out_f, in_f,
         dtype_info(w.type).name);
  if (bias.defined()) {
    require_f32("linear_frozen", bias, "bias");
    if (bias.numel() != out_f) fail("linear_frozen: bias {} does not match out_features {}", bias.shape().str(), out_f);
  }
  const int64_t M = rows_of(x.value());
  Shape os = x.shape();
  os.d[os.n - 1] = out_f;
  Tensor out = alloc(os);
  float* y = out.data<float>();
  if (w.type == DType::Q8_0 || w.type == DType::Q4_0)
    backend().weight_matmul(w, x.value().data<float>(), M, y);  // int8 block dots (packed when w.packed)
  else
    backend().weight_matmul_f32(w, x.value().data<float>(), M, y);  // f32 / f16 / bf16: BLAS on f32 tiles
  if (bias.defined()) {
    const float* b = bias.value().data<float>();
#pragma omp parallel for schedule(static) if (M * out_f > 65536)
    for (int64_t r = 0; r < M; ++r)
      for (int64_t j = 0; j < out_f; ++j) y[r * out_f + j] += b[j];
  }
  Var res = make_output(out, should_record(x, bias));
  if (res.requires_grad()) {
    tape().record([x, w, bias, res, M, out_f] {
      if (!res.has_grad()) return;
      const float* dy = res.node()->grad.data<float>();
      bool acc;
      if (x.requires_grad()) {
        float* dx = x.grad_for_write(acc);
        backend().weight_matmul_t(w, dy, M, dx, acc);
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
