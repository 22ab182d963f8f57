// lora_linear: y = x W^T (+ b) + s (drop(x) A^T) B^T, W (out, in), A (r, in), B (out, r), s = scaling.
// Forward: one GEMM for the base (M x out x in) and two thin ones, u = xd A^T (M x r) and
// y += s u B^T; xd = drop(x) is a temporary only when dropout_p > 0 (backward recomputes it from the
// seed), u is kept for backward.
// Backward with dy (M x out): g = s dy B (M x r); dB (+)= s dy^T u; dA (+)= g^T xd;
// dx (+)= dy W + drop'(g A) (drop' = the same mask and 1/(1-p) scale); dW (+)= dy^T x and
// db (+)= column sums of dy only when W / b require gradients. An undefined W (and bias) gives the
// LoRA term alone, s (drop(x) A^T) B^T: what a frozen base in another storage (linear_frozen) adds to.
#include <cmath>
#include <cstring>
#include <vector>

#include "baimo/autograd/dropout_mask.h"
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

// out[i] = keep(i) ? in[i] / (1 - p) : 0 over n elements (out may alias in when accumulate is false);
// accumulate: out[i] += that instead.
void apply_dropout(const float* in, int64_t n, float p, uint64_t seed, float* out, bool accumulate) {
  const uint32_t thr = dropout_threshold(p);
  const float keep_scale = 1.f / (1.f - p);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float v = dropout_keep(seed, static_cast<uint64_t>(i), thr) ? in[i] * keep_scale : 0.f;
    out[i] = accumulate ? out[i] + v : v;
  }
}

}  // namespace

namespace {

// The one implementation: the base product is an f32 weight Var, a frozen WeightMatrix, or absent.
Var lora_linear_impl(const Var& x, const Var& weight, const WeightMatrix* frozen, const Var& bias, const Var& a,
                     const Var& b, float scaling, float dropout_p, uint64_t dropout_seed) {
  using namespace detail;
  require_f32("lora_linear", x, "x");
  require_f32("lora_linear", a, "lora A");
  require_f32("lora_linear", b, "lora B");
  const bool has_base = weight.defined() || frozen;
  if (frozen) {
    if (!frozen->defined()) fail("lora_linear: the frozen weight ({}, {}) has no data", frozen->rows, frozen->cols);
  } else if (has_base) {
    require_f32("lora_linear", weight, "weight");
    if (weight.value().dim() != 2) fail("lora_linear: weight must be (out, in), got {}", weight.shape().str());
  } else {
    if (bias.defined()) fail("lora_linear: a bias needs the base weight");
    if (a.value().dim() != 2 || b.value().dim() != 2)
      fail("lora_linear: A {} and B {} must be matrices", a.shape().str(), b.shape().str());
  }
  const int64_t out_f = frozen ? frozen->rows : weight.defined() ? weight.size(0) : b.size(0);
  const int64_t in_f = frozen ? frozen->cols : weight.defined() ? weight.size(1) : a.size(1);
  const std::string wshape = weight.defined() ? weight.shape().str()
                             : frozen         ? fmt::format("({}, {}) {} (frozen)", out_f, in_f, dtype_info(frozen->type).name)
                                              : fmt::format("({}, {}) (LoRA term only)", out_f, in_f);
  if (x.value().dim() < 1 || x.size(-1) != in_f)
    fail("lora_linear: x {} does not end in in_features {} of weight {}", x.shape().str(), in_f, wshape);
  if (a.value().dim() != 2 || a.size(1) != in_f || a.size(0) < 1)
    fail("lora_linear: A {} must be (r, {}) for weight {}", a.shape().str(), in_f, wshape);
  const int64_t r = a.size(0);
  if (b.value().dim() != 2 || b.size(0) != out_f || b.size(1) != r)
    fail("lora_linear: B {} must be ({}, {}) for weight {} and A {}", b.shape().str(), out_f, r, wshape,
         a.shape().str());
  if (bias.defined()) {
    require_f32("lora_linear", bias, "bias");
    if (bias.numel() != out_f)
      fail("lora_linear: bias {} does not match out_features {}", bias.shape().str(), out_f);
  }
  if (!std::isfinite(scaling)) fail("lora_linear: scaling {} is not finite", scaling);
  if (!(dropout_p >= 0.f && dropout_p < 1.f)) fail("lora_linear: dropout {} is not in [0, 1)", dropout_p);

  const int64_t M = rows_of(x.value());
  Shape os = x.shape();
  os.d[os.n - 1] = out_f;
  Tensor out = alloc(os);
  float* y = out.data<float>();
  const float* X = x.value().data<float>();
  float beta = 0.f;
  if (bias.defined() && weight.defined()) {
    const float* bv = bias.value().data<float>();
#pragma omp parallel for schedule(static) if (M * out_f > 65536)
    for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * out_f, bv, out_f * sizeof(float));
    beta = 1.f;
  }
  if (weight.defined()) {
    backend().gemm(false, true, M, out_f, in_f, 1.f, X, in_f, weight.value().data<float>(), in_f, beta, y, out_f);
  } else if (frozen) {
    if (frozen->type == DType::Q8_0 || frozen->type == DType::Q4_0)
      backend().weight_matmul(*frozen, X, M, y);  // int8 block dots, as linear_frozen
    else
      backend().weight_matmul_f32(*frozen, X, M, y);
    if (bias.defined()) {
      const float* bv = bias.value().data<float>();
#pragma omp parallel for schedule(static) if (M * out_f > 65536)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < out_f; ++j) y[i * out_f + j] += bv[j];
    }
  }
  // LoRA branch.
  // drop(x), only with dropout: a temporary (backward recomputes it from the seed rather than keeping
  // an activation-sized copy per adapted layer alive until the step ends).
  std::vector<float> xd;
  const float* XD = X;
  if (dropout_p > 0.f && M > 0) {
    xd.resize(static_cast<size_t>(M * in_f));
    apply_dropout(X, M * in_f, dropout_p, dropout_seed, xd.data(), false);
    XD = xd.data();
  }
  Tensor u = alloc(Shape{M, r});  // xd A^T
  backend().gemm(false, true, M, r, in_f, 1.f, XD, in_f, a.value().data<float>(), in_f, 0.f, u.data<float>(), r);
  backend().gemm(false, true, M, out_f, r, scaling, u.data<float>(), r, b.value().data<float>(), r,
                 has_base ? 1.f : 0.f, y, out_f);

  Var res = make_output(out, should_record(x, weight, bias, a, b));
  if (res.requires_grad()) {
    const WeightMatrix fw = frozen ? *frozen : WeightMatrix{};
    tape().record([x, weight, fw, bias, a, b, res, u, M, in_f, out_f, r, scaling, dropout_p, dropout_seed] {
      if (!res.has_grad()) return;
      const float* dy = res.node()->grad.data<float>();
      std::vector<float> xd;  // drop(x) again, from the same seed (only dA needs it)
      const float* XD = x.value().data<float>();
      if (dropout_p > 0.f && a.requires_grad()) {
        xd.resize(static_cast<size_t>(M * in_f));
        apply_dropout(XD, M * in_f, dropout_p, dropout_seed, xd.data(), false);
        XD = xd.data();
      }
      bool acc;
      if (b.requires_grad()) {
        float* dB = b.grad_for_write(acc);
        backend().gemm(true, false, out_f, r, M, scaling, dy, out_f, u.data<float>(), r, acc ? 1.f : 0.f, dB, r);
      }
      const bool need_g = a.requires_grad() || x.requires_grad();
      Tensor g;  // s dy B: (M, r)
      if (need_g) {
        g = alloc(Shape{M, r});
        backend().gemm(false, false, M, r, out_f, scaling, dy, out_f, b.value().data<float>(), r, 0.f,
                       g.data<float>(), r);
      }
      if (a.requires_grad()) {
        float* dA = a.grad_for_write(acc);
        backend().gemm(true, false, r, in_f, M, 1.f, g.data<float>(), r, XD, in_f, acc ? 1.f : 0.f, dA, in_f);
      }
      if (x.requires_grad()) {
        float* dx = x.grad_for_write(acc);
        if (weight.defined()) {
          backend().gemm(false, false, M, in_f, out_f, 1.f, dy, out_f, weight.value().data<float>(), in_f,
                         acc ? 1.f : 0.f, dx, in_f);
          acc = true;
        } else if (fw.defined()) {
          backend().weight_matmul_t(fw, dy, M, dx, acc);  // dx (+)= dy W, W dequantized tile by tile
          acc = true;
        }
        if (dropout_p > 0.f) {
          Tensor t = alloc(Shape{M, in_f});  // g A, then through the mask into dx
          backend().gemm(false, false, M, in_f, r, 1.f, g.data<float>(), r, a.value().data<float>(), in_f, 0.f,
                         t.data<float>(), in_f);
          apply_dropout(t.data<float>(), M * in_f, dropout_p, dropout_seed, dx, acc);
        } else {
          backend().gemm(false, false, M, in_f, r, 1.f, g.data<float>(), r, a.value().data<float>(), in_f,
                         acc ? 1.f : 0.f, dx, in_f);
        }
      }
      if (weight.defined() && weight.requires_grad()) {
        float* dW = weight.grad_for_write(acc);
        backend().gemm(true, false, out_f, in_f, M, 1.f, dy, out_f, x.value().data<float>(), in_f, acc ? 1.f : 0.f,
                       dW, in_f);
      }
      if (bias.defined() && bias.requires_grad()) {
        float* db = bias.grad_for_write(acc);
        backend().sum_rows(dy, M, out_f, db, acc);
      }
    });
  }
  return res;
}

}  // namespace

Var lora_linear(const Var& x, const Var& weight, const Var& bias, const Var& a, const Var& b, float scaling,
                float dropout_p, uint64_t dropout_seed) {
  return lora_linear_impl(x, weight, nullptr, bias, a, b, scaling, dropout_p, dropout_seed);
}

Var lora_linear_frozen(const Var& x, const WeightMatrix& w, const Var& bias, const Var& a, const Var& b, float scaling,
                       float dropout_p, uint64_t dropout_seed) {
  return lora_linear_impl(x, Var(), &w, bias, a, b, scaling, dropout_p, dropout_seed);
}

}  // namespace baimo::ag
