#include "baimo/autograd/tape.h"

#include "baimo/util/error.h"

namespace baimo::ag {

namespace {
thread_local bool g_grad_enabled = true;
}

void Tape::record(std::function<void()> backward_fn) { ops_.push_back(std::move(backward_fn)); }

void Tape::run_backward() {
  // Taken out first: a closure may record (into the emptied ops_) and run a nested backward.
  std::vector<std::function<void()>> ops = std::move(ops_);
  ops_.clear();
  for (size_t i = ops.size(); i-- > 0;) ops[i]();
}

Tape& tape() {
  thread_local Tape t;
  return t;
}

void backward(const Var& loss, float seed) {
  if (!loss.defined() || loss.numel() != 1)
    fail("backward: loss must be a single value, got shape {}", loss.defined() ? loss.shape().str() : "()");
  if (!loss.requires_grad()) fail("backward: loss does not depend on any Var that requires a gradient");
  bool acc;
  float* g = loss.grad_for_write(acc);
  g[0] = acc ? g[0] + seed : seed;
  tape().run_backward();
}

void reset_step() {
  tape().clear();
  tape().arena().reset();
}

bool grad_enabled() { return g_grad_enabled; }

GradModeGuard::GradModeGuard(bool enabled) : prev_(g_grad_enabled) { g_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { g_grad_enabled = prev_; }

}  // namespace baimo::ag
