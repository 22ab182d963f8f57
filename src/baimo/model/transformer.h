// Transformer: the decoder-only language model of the Llama / Qwen2 / Mistral family.
//   x = embed_tokens[ids]; for each layer: x = DecoderBlock(x) (nn/block.h); x = norm(x)
//   logits = x lm_head^T   (lm_head = embed_tokens when tie_word_embeddings)
//   or, for a reward model (config().is_reward_model(): score.weight, no lm_head; model/reward_model.h):
//   reward = x[last token of each sequence] score^T
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
// - LoRA: attach_lora(&adapter) adds the adapter's branch to its target layers (the adapter must
//   outlive the attachment; nullptr detaches, giving back the base model: the reference model of a
//   LoRA run is this same model with the adapter off, never a second copy). Attachment is per
//   Transformer object (copies made before it do not see it). set_base_trainable(false) freezes the
//   base: backward then writes and allocates no gradient for any base parameter. An adapter with
//   trainable tokens (model/lora.h) replaces their embedding rows (hidden) and, for a tied head, the
//   same rows of the head (lm_head, loss, token_logprobs); an untied head keeps its rows.
// - Frozen base (convert/training_base.h builds one): the 2-D parameters named in `frozen` stay in
//   their storage type (F32/F16/BF16/Q8_0/Q4_0 WeightMatrix over bytes the Transformer keeps alive
//   through `frozen_storage`), have NO f32 Var and get no gradient; products through them are
//   ag::linear_frozen / ag::embedding_frozen (gradients flow through to the input). Then params()
//   lists only the f32 Vars (norms, biases, any matrix not frozen) and frozen_params() the frozen
//   matrices: together they are exactly param_layout(config). param(name) of a frozen matrix throws.
//   save() writes frozen matrices dequantized to f32.
// - Activation checkpointing: set_grad_checkpoint(true) makes every recording forward keep only each
//   decoder block's input (ag::checkpoint, autograd/checkpoint.h) and recompute the block during
//   backward: the same loss and gradients, less activation memory, one more forward of the blocks.
//   Per Transformer object, like the LoRA attachment; off by default.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baimo/model/config.h"
#include "baimo/model/lora.h"
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

  // A frozen base matrix: spec from param_layout (Embedding or Matrix kind), w (spec.shape) over
  // bytes that the Transformer's frozen storage owns.
  struct FrozenParam {
    ParamSpec spec;
    WeightMatrix w;
  };

  // Parameters allocated and zero-filled (callers fill them: random() and load() do).
  explicit Transformer(const ModelConfig& cfg);
  // The same with the matrices of `frozen` (by name) taking no f32 Var; `storage` owns every byte
  // they point into (shared by copies). baimo::Error for a name not in the layout, a 1-D parameter,
  // a duplicate, or a shape that differs from the layout's.
  Transformer(const ModelConfig& cfg, std::vector<FrozenParam> frozen, std::shared_ptr<const void> storage);
  static Transformer random(const ModelConfig& cfg, uint64_t seed);
  static Transformer load(const std::string& dir);
  // Writes config.json + model.safetensors (+ tokenizer / generation config per opts).
  void save(const std::string& dir, const ModelDirSave& opts = {}) const;

  const ModelConfig& config() const { return cfg_; }
  const std::vector<Param>& params() const { return params_; }
  std::vector<ag::Var> param_vars() const;
  const std::vector<FrozenParam>& frozen_params() const { return frozen_; }
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
  // Mean next-token cross-entropy of logits(ids, positions, segments) against targets (I32 (B, T),
  // ignore_index excluded) -> (1), through the fused head + loss (ag::lm_head_loss, or
  // lm_head_loss_frozen over a frozen base): the (B, T, V) logits are never held.
  ag::Var loss(const Tensor& ids, const Tensor& targets, const Tensor* positions = nullptr,
               const Tensor* segments = nullptr, int32_t ignore_index = -100) const;
  // Per-token log-probs of the targets under logits(ids, positions, segments) -> (B*T):
  // log_softmax(logits)[b, t, targets[b, t]], 0 where targets[b, t] == ignore_index; through the same
  // fused head as loss() (ag::lm_head_logprobs / lm_head_logprobs_frozen; tied, untied or frozen
  // head, LoRA attached or not), never holding the logits. Preference losses sum them per sequence
  // (ag::segment_sum).
  ag::Var token_logprobs(const Tensor& ids, const Tensor& targets, const Tensor* positions = nullptr,
                         const Tensor* segments = nullptr, int32_t ignore_index = -100) const;

  // ---- reward models (config().head == SequenceClassification) ----
  // The reward of each sequence: score(h[last_rows[m]]) where h = hidden(ids, positions, segments)
  // flattened to (B*T, C). last_rows: I32 (M), each the flat row index b*T+t of a sequence's last
  // token -> (M). Differentiable in the trunk and the score head. baimo::Error on a causal LM (no
  // score head) or a row outside [0, B*T).
  ag::Var rewards(const Tensor& ids, const Tensor* positions, const Tensor* segments, const Tensor& last_rows) const;
  // The score head (num_labels = 1, C); undefined for a causal LM.
  const ag::Var& score_weight() const { return score_; }

  // ---- LoRA (model/lora.h) and fine-tuning ----
  // Attaches `adapter` (nullptr: detaches). Its pairs must match this model's layers and shapes
  // (baimo::Error naming the pair otherwise). Dropout starts off (see set_lora_dropout).
  void attach_lora(const LoraAdapter* adapter);
  const LoraAdapter* lora() const { return lora_; }
  // LoRA dropout for the next forwards: a seed turns it on with the adapter's config.dropout, the
  // mask of (layer, target) a function of (seed, layer, target, element); nullopt turns it off (eval).
  // Training gives each step its own seed (e.g. derived from the step number) for exact resume.
  void set_lora_dropout(std::optional<uint64_t> seed);
  // The base embedding rows of ids -> (K, C) f32 (dequantized from a frozen base): the initial
  // values of an adapter's trainable token rows. baimo::Error for an id outside the vocabulary.
  Tensor embedding_rows(const std::vector<int32_t>& ids) const;
  // false: every base parameter gets requires_grad = false (and loses any gradient buffer).
  void set_base_trainable(bool trainable);
  // Activation checkpointing of the decoder blocks (see the contract above).
  void set_grad_checkpoint(bool on) { grad_checkpoint_ = on; }
  bool grad_checkpoint() const { return grad_checkpoint_; }
  // Grows the vocabulary to new_vocab rows: embed_tokens (and an untied lm_head) get new rows equal
  // to the mean of their existing rows (HF resize_token_embeddings(mean_resizing=True)'s mean);
  // config().vocab_size is updated. The affected parameter Vars are replaced (build optimizers after
  // resizing; shallow copies made before keep the old ones). new_vocab < vocab_size is an error.
  void resize_vocab(int64_t new_vocab);

 private:
  void wire();        // builds the nn layers from params_ (and re-applies the LoRA attachment)
  void apply_lora();  // sets every Linear's LoRA branch from lora_ and lora_seed_
  ag::TokenRows head_tokens() const;  // the adapter's token rows when the head is tied, else empty
  const LoraAdapter* lora_ = nullptr;
  std::optional<uint64_t> lora_seed_;
  bool grad_checkpoint_ = false;
  ModelConfig cfg_;
  std::vector<Param> params_;
  std::map<std::string, size_t> index_;
  ag::Var embed_, lm_head_, score_;
  nn::RMSNorm norm_;
  std::vector<nn::DecoderBlock> blocks_;
  // Frozen base (empty otherwise); embed_frozen_ / lm_head_frozen_ replace embed_ / lm_head_ when set.
  void wire_frozen();
  std::vector<FrozenParam> frozen_;
  std::shared_ptr<const void> frozen_storage_;
  WeightMatrix embed_frozen_, lm_head_frozen_;
};

}  // namespace baimo
