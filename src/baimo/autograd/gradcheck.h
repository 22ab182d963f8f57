// gradcheck: compares the gradients backward() computes with central finite differences.
// Contract: `loss_fn` builds a one-element Var from `inputs` using ops only (it is called many
// times, with and without recording). For every input that requires a gradient, up to
// `max_checks` elements (all if fewer; else an evenly spread subset) are perturbed by +-eps and
// d(loss)/d(x) = (L(x+eps) - L(x-eps)) / 2eps is compared with the analytic gradient:
// an element fails when |analytic - numeric| > atol + rtol * max(|analytic|, |numeric|).
// Calls reset_step() between evaluations (leaves must own their memory, as Var::leaf does).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::ag {

struct GradCheckOptions {
  float eps = 1e-3f;
  float rtol = 1e-2f;
  float atol = 1e-3f;
  int max_checks = 64;
};

struct GradCheckResult {
  bool ok = true;
  int checked = 0;
  float max_abs_err = 0;
  std::string first_failure;  // "input 1 element 7: analytic 0.5 numeric 0.49"
};

GradCheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& loss_fn, const std::vector<Var>& inputs,
                          const GradCheckOptions& opt = {});

}  // namespace baimo::ag
