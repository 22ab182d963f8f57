// Var: a node of the autograd graph: a value, its gradient, and whether gradients flow to it.
// Contract:
// - Leaves (parameters, inputs) are made with Var::leaf / Var::constant; every other Var is the
//   output of an op (autograd/ops.h) whose value lives in the thread's activation arena
//   (autograd/tape.h) and is valid until the next reset_step().
// - grad() is the accumulated gradient d(loss)/d(value), same shape as value. Gradients
//   accumulate across backward() calls until zero_grad(). A leaf's gradient buffer is owned
//   (persistent); an activation's lives in the arena. grad() of a Var that received no
//   gradient since zero_grad() returns zeros (materialized on demand).
// - Copies of a Var share the node (shallow handle). A Var used twice in a graph gets the sum of
//   both gradient contributions.
#pragma once
#include <memory>
#include <span>
#include <string>

#include "baimo/tensor/tensor.h"

namespace baimo::ag {

struct VarNode {
  Tensor value;
  Tensor grad;               // allocated on first gradient (or on grad())
  bool requires_grad = false;
  bool grad_valid = false;   // grad holds meaningful data (else: logically zero)
  bool is_leaf = true;       // leaves own their gradient buffer (heap); others use the arena
  std::string name;          // optional, for messages
};

class Var {
 public:
  Var() = default;
  static Var leaf(Tensor value, bool requires_grad = true, std::string name = {});
  static Var constant(Tensor value) { return leaf(std::move(value), false); }

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t size(int i) const { return node_->value.size(i); }
  int64_t numel() const { return node_->value.numel(); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  bool has_grad() const { return node_ && node_->grad_valid; }
  Tensor grad() const;              // zeros if nothing accumulated since zero_grad()
  float item() const;               // value of a 1-element Var
  VarNode* node() const { return node_.get(); }
  const std::string& name() const { return node_->name; }

  // Gradient plumbing for op implementations: returns the buffer to write d(value) into and
  // sets `accumulate` (false => buffer is uninitialized/logically zero, overwrite it).
  float* grad_for_write(bool& accumulate) const;

 private:
  std::shared_ptr<VarNode> node_;
  friend Var make_output(Tensor value, bool requires_grad);
};

// Output Var of an op (non-leaf).
Var make_output(Tensor value, bool requires_grad);

// Marks every parameter's gradient as zero (no memory traffic: the next backward overwrites).
void zero_grad(std::span<Var> params);

}  // namespace baimo::ag
