#include "baimo/autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::ag {

namespace {
double eval(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& in) {
  NoGradGuard ng;
  double l = f(in).item();
  reset_step();
  return l;
}
}  // namespace

GradCheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& loss_fn, const std::vector<Var>& inputs,
                          const GradCheckOptions& opt) {
  GradCheckResult res;
  std::vector<Var> params;
  for (auto& v : inputs)
    if (v.requires_grad()) params.push_back(v);
  zero_grad(params);
  reset_step();
  {
    Var loss = loss_fn(inputs);
    backward(loss);
  }
  std::vector<Tensor> analytic;
  for (auto& v : inputs) analytic.push_back(v.requires_grad() ? v.grad().clone() : Tensor());
  reset_step();
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    float* x = inputs[k].value().data<float>();
    const float* a = analytic[k].data<float>();
    const int64_t n = inputs[k].numel();
    const int64_t checks = std::min<int64_t>(n, opt.max_checks);
    for (int64_t c = 0; c < checks; ++c) {
      const int64_t i = checks == n ? c : c * n / checks + (c * 7919) % std::max<int64_t>(1, n / checks);
      const float orig = x[i];
      x[i] = orig + opt.eps;
      const double lp = eval(loss_fn, inputs);
      x[i] = orig - opt.eps;
      const double lm = eval(loss_fn, inputs);
      x[i] = orig;
      const double num = (lp - lm) / (2.0 * opt.eps);
      const double err = std::fabs(a[i] - num);
      res.max_abs_err = std::max(res.max_abs_err, static_cast<float>(err));
      ++res.checked;
      if (err > opt.atol + opt.rtol * std::max(std::fabs(static_cast<double>(a[i])), std::fabs(num)) && res.ok) {
        res.ok = false;
        res.first_failure = fmt::format("input {} element {}: analytic {} numeric {}", k, i, a[i], num);
      }
    }
  }
  return res;
}

}  // namespace baimo::ag
