#include "baimo/autograd/checkpoint.h"

#include <cstring>
#include <memory>

#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::ag {

namespace {
bool any_requires_grad(std::span<const Var> vs) {
  for (const Var& v : vs)
    if (v.defined() && v.requires_grad()) return true;
  return false;
}
}  // namespace

Var checkpoint(CheckpointFn fn, std::vector<Var> inputs, std::span<const Var> captured) {
  if (!grad_enabled() || !(any_requires_grad(inputs) || any_requires_grad(captured))) return fn(inputs);
  Arena& arena = tape().arena();
  const Arena::Mark mark = arena.mark();
  Tensor scratch_y;
  {
    NoGradGuard no_grad;
    scratch_y = fn(inputs).value();
  }
  if (scratch_y.dtype() != DType::F32) fail("checkpoint: the function's output must be F32");
  // Release fn's scratch; y moves to its start (memmove: the two may overlap, y is never later).
  arena.rewind(mark);
  Tensor y_value = arena.alloc(scratch_y.shape());
  std::memmove(y_value.raw(), scratch_y.raw(), scratch_y.nbytes());
  Var y = make_output(y_value, true);
  // Captured activations (non-leaf) need the same care as inputs; leaves keep their gradients on the heap.
  std::vector<Var> captured_activations;
  for (const Var& v : captured)
    if (v.defined() && v.requires_grad() && !v.node()->is_leaf) captured_activations.push_back(v);
  tape().record([fn = std::move(fn), inputs = std::move(inputs), captured_activations, y] {
    if (!y.has_grad()) return;
    // Their gradients live before the mark: the nested backward accumulates into them.
    for (const auto* vs : {&inputs, &captured_activations})
      for (const Var& x : *vs)
        if (x.defined() && x.requires_grad() && !x.node()->is_leaf) (void)x.grad();
    Arena& ar = tape().arena();
    const Arena::Mark m = ar.mark();
    {
      GradModeGuard record(true);
      Var y2 = fn(inputs);
      for (const Var& x : inputs)
        if (y2.node() == x.node()) fail("checkpoint: the function must return a new Var, not one of its inputs");
      if (!(y2.shape() == y.shape()))
        fail("checkpoint: the recomputed output has shape {}, the forward's {}", y2.shape().str(), y.shape().str());
      if (y2.requires_grad()) {
        VarNode& n = *y2.node();
        n.grad = y.node()->grad;  // d(loss)/dy seeds the recomputed graph (shared, before the mark)
        n.grad_valid = true;
        tape().run_backward();    // only the recomputed ops: the outer ones were taken out
      }
    }
    ar.rewind(m);
  });
  return y;
}

}  // namespace baimo::ag
