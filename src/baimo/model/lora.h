// LoRA adapters (Hu et al. 2021) on the transformer's linear layers, named and shaped as Hugging Face
// PEFT stores them, so that adapters move both ways between baimo and PEFT (convert/peft_adapter.h).
//   y = x W^T [+ b] + scaling * dropout(x) A^T B^T,   A: (r, in), B: (out, r)
//   scaling = alpha / r, or alpha / sqrt(r) with rslora (Kalajdzievski 2023).
// Names: base_model.model.model.layers.N.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight and
//        base_model.model.model.layers.N.mlp.{gate,up,down}_proj.lora_{A,B}.weight.
// Contract:
// - lora_layout(cfg, lc): one LoraSpec per (layer, target) in layer order, targets in the order
//   q, k, v, o, gate, up, down (the subset lc.targets names); in/out from the base matrix's shape.
// - LoraAdapter::create: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform(a=sqrt(5))), B = 0, so
//   a fresh adapter leaves the model's output unchanged; deterministic by (seed, name, element).
// - parse_lora_targets("q,k,v,o,gate,up,down" | "all" | PEFT names "q_proj,..."): baimo::Error naming
//   the bad entry and listing the valid ones.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/autograd/var.h"
#include "baimo/model/config.h"
#include "baimo/model/param_layout.h"

namespace baimo {

struct LoraConfig {
  int64_t r = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;
  bool rslora = false;
  std::vector<ParamRole> targets{ParamRole::Q,    ParamRole::K,  ParamRole::V,   ParamRole::O,
                                 ParamRole::Gate, ParamRole::Up, ParamRole::Down};
  float scaling() const {
    return rslora ? alpha / std::sqrt(static_cast<float>(r)) : alpha / static_cast<float>(r);
  }
  void validate(const std::string& where) const;  // r >= 1, alpha > 0, 0 <= dropout < 1, targets valid
};

struct LoraSpec {
  ParamRole role = ParamRole::Q;  // the base matrix it adapts
  int64_t layer = 0;
  int64_t in = 0, out = 0;        // base matrix (out, in)
  std::string base_name;          // HF name of the base matrix, e.g. model.layers.0.self_attn.q_proj.weight
  std::string a_name, b_name;     // PEFT names of A (r, in) and B (out, r)
};

std::vector<LoraSpec> lora_layout(const ModelConfig& cfg, const LoraConfig& lc);
std::vector<ParamRole> parse_lora_targets(std::string_view csv);
// "q_proj", "k_proj", ..., "down_proj": PEFT's target_modules names.
std::string lora_target_module(ParamRole role);

struct LoraAdapter {
  struct Pair {
    LoraSpec spec;
    ag::Var a, b;  // f32 leaves, requires_grad
  };
  LoraConfig config;
  std::vector<Pair> pairs;  // in lora_layout order

  // Zero-filled A and B (for loaders to fill).
  static LoraAdapter zeros(const ModelConfig& cfg, const LoraConfig& lc);
  static LoraAdapter create(const ModelConfig& cfg, const LoraConfig& lc, uint64_t seed);
  // The pair adapting (layer, role), or nullptr.
  const Pair* find(int64_t layer, ParamRole role) const;
  int64_t numel() const;  // trainable parameters
};

}  // namespace baimo
