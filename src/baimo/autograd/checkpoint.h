// checkpoint: activation checkpointing (gradient checkpointing) of one differentiable function.
//   y = checkpoint(fn, inputs, captured)  has the value and the gradients of  y = fn(inputs)
// but keeps none of fn's intermediate tensors between forward and backward.
// Contract:
// - fn builds its output (a new F32 Var) from `inputs` (Vars, referenced, not copied) and from Vars
//   it captures (parameters); `captured` lists the captured Vars that may require a gradient (they
//   decide, with the inputs, whether y requires one; a captured non-leaf Var must be listed). fn
//   must be a pure function of its inputs and captures: called twice it must compute the same
//   values (deterministic kernels; dropout masks that are functions of a seed fn holds,
//   autograd/dropout_mask.h). Capture by value whatever may change between forward and backward
//   (e.g. a layer's dropout seed: copy the layer).
// - Forward (recording enabled): fn runs with recording off; every arena tensor it allocates is
//   released (Arena::rewind) except y, copied to the position of the first of them. One closure is
//   recorded. With recording off (NoGradGuard) checkpoint is just fn(inputs).
// - Backward: that closure gives every non-leaf input (and captured Var) that requires a gradient
//   its gradient buffer (in the arena, before the scratch), re-runs fn WITH recording, seeds the
//   recomputed output with d(loss)/dy and runs the tape's nested backward over the recomputed ops (tape.h: run_backward is
//   reentrant), then releases the recomputation's arena memory. Parameter gradients accumulate
//   exactly as without checkpointing; nothing is done when y received no gradient.
// - Peak activation memory of a chain of checkpointed blocks: the block inputs, plus one block's
//   intermediates and their gradients during its recomputation.
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "baimo/autograd/var.h"

namespace baimo::ag {

using CheckpointFn = std::function<Var(const std::vector<Var>&)>;

Var checkpoint(CheckpointFn fn, std::vector<Var> inputs, std::span<const Var> captured = {});

}  // namespace baimo::ag
