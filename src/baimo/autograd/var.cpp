#include "baimo/autograd/var.h"

#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::ag {

Var Var::leaf(Tensor value, bool requires_grad, std::string name) {
  Var v;
  v.node_ = std::make_shared<VarNode>();
  v.node_->value = std::move(value);
  v.node_->requires_grad = requires_grad;
  v.node_->is_leaf = true;
  v.node_->name = std::move(name);
  return v;
}

Var make_output(Tensor value, bool requires_grad) {
  Var v;
  v.node_ = std::make_shared<VarNode>();
  v.node_->value = std::move(value);
  v.node_->requires_grad = requires_grad;
  v.node_->is_leaf = false;
  return v;
}

Tensor Var::grad() const {
  VarNode& n = *node_;
  if (!n.grad.defined() || n.grad.numel() != n.value.numel()) {
    n.grad = n.is_leaf ? Tensor::empty(n.value.shape()) : tape().arena().alloc(n.value.shape());
    n.grad_valid = false;
  }
  if (!n.grad_valid) {
    n.grad.zero();
    n.grad_valid = true;
  }
  return n.grad;
}

float Var::item() const {
  if (numel() != 1) fail("Var::item: value has shape {}, expected one element", shape().str());
  return value().data<float>()[0];
}

float* Var::grad_for_write(bool& accumulate) const {
  VarNode& n = *node_;
  if (!n.grad.defined() || n.grad.numel() != n.value.numel())
    n.grad = n.is_leaf ? Tensor::empty(n.value.shape()) : tape().arena().alloc(n.value.shape());
  accumulate = n.grad_valid;
  n.grad_valid = true;
  return n.grad.data<float>();
}

void zero_grad(std::span<Var> params) {
  for (auto& p : params)
    if (p.defined()) p.node()->grad_valid = false;
}

}  // namespace baimo::ag
