// Transformer: the decoder-only language model of the Llama / Qwen2 / Mistral family.
//   x = embed_tokens[ids]; for each layer: x = DecoderBlock(x) (nn/block.h); x = norm(x)
//   logits = x lm_head^T   (lm_head = embed_tokens when tie_word_embeddings)
// Contract:
// - Parameters are f32 autograd leaves named and shaped as param_layout(config) says (HF names);
//   a tied model has no lm_head.weight parameter (the embedding gets both gradients).
// - Copies are shallow: a copied Transformer shares the same parameter Vars.
// - random(): init.h values, deterministic by seed. load()/save(): a model directory (model_dir.h).
// - Forward records on the calling thread's tape (autograd/tape.h) unless a NoGradGuard is alive.
// - ids: I32 (B, T) with 0 <= id < vocab_size and T <= max_position_embeddings; positions are
//   0..T-1 in every row. Violations throw baimo::Error.
// - Packed rows (several documents in one row): positions I32 (B, T), each in
//   [0, max_position_embeddings) (then T itself is not limited), and segments I32 (B, T),
//   non-decreasing document ids per row; a token attends only earlier tokens of its document.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "baimo/model/config.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/param_layout.h"
#include "baimo/nn/block.h"

namespace baimo {

class Transformer {
 public:
  struct Param {
    ParamSpec spec;
    ag::Var var;
  };

  // Parameters allocated and zero-filled (callers fill them: random() and load() do).
  explicit Transformer(const ModelConfig& cfg);
  static Transformer random(const ModelConfig& cfg, uint64_t seed);
  static Transformer load(const std::string& dir);
  // Writes config.json + model.safetensors (+ tokenizer / generation config per opts).
  void save(const std::string& dir, const ModelDirSave& opts = {}) const;

  const ModelConfig& config() const { return cfg_; }
  const std::vector<Param>& params() const { return params_; }
  std::vector<ag::Var> param_vars() const;
  // The parameter with this HF name; baimo::Error when there is none.
  const ag::Var& param(const std::string& name) const;

  // ids: I32 (B, T) -> hidden states after the final norm (B, T, C).
  // positions: optional I32 (B, T) (default 0..T-1), segments: optional I32 (B, T) (default:
  // plain causal), for packed rows (see the contract above).
  ag::Var hidden(const Tensor& ids, const Tensor* positions = nullptr, const Tensor* segments = nullptr) const;
  // h: (B, T, C) -> logits (B, T, V)
  ag::Var lm_head(const ag::Var& h) const;
  // ids: I32 (B, T) -> logits (B, T, V); positions, segments as for hidden().
  ag::Var logits(const Tensor& ids, const Tensor* positions = nullptr, const Tensor* segments = nullptr) const {
    return lm_head(hidden(ids, positions, segments));
  }

 private:
  void wire();  // builds the nn layers from params_
  ModelConfig cfg_;
  std::vector<Param> params_;
  std::map<std::string, size_t> index_;
  ag::Var embed_, lm_head_;
  nn::RMSNorm norm_;
  std::vector<nn::DecoderBlock> blocks_;
};

}  // namespace baimo
