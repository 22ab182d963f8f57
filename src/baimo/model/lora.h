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
// - Trainable tokens (PEFT's LoraConfig.trainable_token_indices, TrainableTokensLayer on embed_tokens):
//   config.trainable_tokens lists K distinct token ids (PEFT's order); the adapter then has
//   token_rows, an f32 (K, hidden) leaf named kTokenRowsName: row k REPLACES embedding row ids[k]
//   (PEFT's trainable_tokens_delta holds the rows themselves, initialised to the base rows, not a
//   difference) in the input embedding and, when the model ties its head to the embedding, in the
//   head (PEFT's tied adapter: no tensor of its own). An untied lm_head keeps its base rows, as in PEFT.
//   Only these K rows train: memory and optimizer state stay LoRA-sized. zeros()/create() make the
//   rows zero; a trainer fills them from the base (Transformer::embedding_rows) before training.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/var.h"
#include "baimo/model/config.h"
#include "baimo/model/param_layout.h"

namespace baimo {

struct LoraConfig {
  int64_t r = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;
  bool rslora = false;
  std::vector<int32_t> trainable_tokens;  // PEFT trainable_token_indices (embed_tokens); empty: none
  std::vector<ParamRole> targets{ParamRole::Q,    ParamRole::K,  ParamRole::V,   ParamRole::O,
                                 ParamRole::Gate, ParamRole::Up, ParamRole::Down};
  float scaling() const {
    return rslora ? alpha / std::sqrt(static_cast<float>(r)) : alpha / static_cast<float>(r);
  }
  // r >= 1, alpha > 0, 0 <= dropout < 1, targets valid, trainable_tokens distinct and >= 0
  void validate(const std::string& where) const;
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
// "16382,16383" -> ids (order kept); baimo::Error naming a bad entry or a repeated id.
std::vector<int32_t> parse_token_ids(std::string_view csv, const std::string& where);

inline constexpr const char* kTokenRowsName = "base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta";
// "q_proj", "k_proj", ..., "down_proj": PEFT's target_modules names.
std::string lora_target_module(ParamRole role);

struct LoraAdapter {
  struct Pair {
    LoraSpec spec;
    ag::Var a, b;  // f32 leaves, requires_grad
  };
  LoraConfig config;
  std::vector<Pair> pairs;  // in lora_layout order
  ag::Var token_rows;       // (K, hidden) f32 leaf when config.trainable_tokens is not empty

  // Zero-filled A and B (for loaders to fill).
  static LoraAdapter zeros(const ModelConfig& cfg, const LoraConfig& lc);
  static LoraAdapter create(const ModelConfig& cfg, const LoraConfig& lc, uint64_t seed);
  // The pair adapting (layer, role), or nullptr.
  const Pair* find(int64_t layer, ParamRole role) const;
  int64_t numel() const;  // trainable parameters (token rows included)
  // The token rows as the ops take them (ids I32 (K), values token_rows); empty without tokens.
  ag::TokenRows tokens() const;
};

}  // namespace baimo
