// Tape: records, in creation order, the backward closure of every op whose output requires a
// gradient, and owns the activation arena those outputs are allocated from.
// Contract:
// - One tape per thread (tape()); ops record to it unless a NoGradGuard is alive.
// - backward(loss): loss must have one element; seeds d(loss) = 1 (or `seed`), runs the recorded
//   closures newest first (a valid topological order), accumulating into every Var that requires
//   a gradient, then clears the closures. Activation values stay readable until reset_step().
// - run_backward is reentrant: it takes the recorded closures out before running them, so a closure
//   may record new ops and run_backward() over just those (activation checkpointing,
//   autograd/checkpoint.h).
// - reset_step(): drops recorded closures and recycles the arena. Every non-leaf Var created
//   before it is dead afterwards (its memory is reused). Call once per training step.
#pragma once
#include <functional>
#include <vector>

#include "baimo/autograd/var.h"
#include "baimo/tensor/arena.h"

namespace baimo::ag {

class Tape {
 public:
  Arena& arena() { return arena_; }
  void record(std::function<void()> backward_fn);
  size_t size() const { return ops_.size(); }
  void run_backward();  // takes the recorded closures, runs them newest first
  void clear() { ops_.clear(); }

 private:
  Arena arena_;
  std::vector<std::function<void()>> ops_;
};

Tape& tape();            // this thread's tape
void backward(const Var& loss, float seed = 1.f);
void reset_step();
bool grad_enabled();

// Sets whether ops record in its scope, restoring the previous mode at its end.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

// Disables recording in its scope (inference, evaluation, reference rollouts).
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace baimo::ag
