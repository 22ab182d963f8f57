// ModelConfig: the shape of a decoder-only transformer, read from and written to a Hugging Face
// style config.json with Llama / Qwen2 / Mistral field names.
// Contract:
// - parse_model_config / load_model_config check every field: unknown fields, wrong JSON types,
//   non-positive sizes, heads not dividing hidden_size, kv heads not dividing heads, features baimo
//   does not implement (rope_scaling, sliding windows shorter than the context, hidden_act other than
//   silu, MLP bias, ...) throw baimo::Error naming the file and the field.
// - Known Hugging Face fields that do not change the math (transformers_version, use_cache, ...) are
//   accepted and dropped.
// - Bias rules follow transformers: qwen2 always has q/k/v bias and no o bias; llama's
//   attention_bias puts a bias on q, k, v *and* o; mistral has no attention bias.
// - save_model_config writes config.json atomically in the same format.
// - The head: a causal LM (architectures *ForCausalLM, or none) or a reward model in transformers'
//   sequence-classification layout (architectures ["Qwen2ForSequenceClassification"] /
//   Llama... / Mistral..., following model_type; num_labels 1, id2label {"0": "LABEL_0"},
//   label2id {"LABEL_0": 0}; pad_token_id kept). A *ForSequenceClassification name that does not
//   follow model_type, or num_labels != 1, is an error. pad_token_id is parsed and written back for
//   either head; a causal LM's outside [0, vocab_size) (old Llama configs say -1) is dropped, a
//   reward model's must be a token id.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace baimo {

enum class ModelHead {
  CausalLM,                // lm_head (V, C) (or the tied embedding): next-token logits
  SequenceClassification,  // score (num_labels = 1, C), no lm_head: a reward model
};

struct ModelConfig {
  std::string model_type = "llama";  // llama | qwen2 | mistral
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  double initializer_range = 0.02;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // bias on q_proj, k_proj, v_proj
  bool o_bias = false;    // bias on o_proj (llama with attention_bias = true)
  std::string torch_dtype = "float32";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // config.json allows one id or a list
  std::optional<int64_t> pad_token_id;
  ModelHead head = ModelHead::CausalLM;
  int64_t num_labels = 1;  // rows of score.weight (sequence classification; only 1 supported)

  bool is_reward_model() const { return head == ModelHead::SequenceClassification; }

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  // Number of trainable parameters (the tied lm_head counted once).
  int64_t parameter_count() const;
  // The transformers class name: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, or
  // <Llama|Qwen2|Mistral>ForSequenceClassification for a reward model.
  std::string architecture() const;
  // Re-checks the invariants parse_model_config enforces (after a program edits fields);
  // `where` names the source in error messages.
  void validate(const std::string& where) const;
};

// The checks of code that needs one head: baimo::Error naming `where` (a model path), the
// architecture and what to use instead, e.g. "M is a reward model (Qwen2ForSequenceClassification):
// use baimo rm score or serve /v1/rewards" / "M has no score head (causal LM): train one with baimo
// rm train".
void require_causal_lm(const ModelConfig& c, const std::string& where);
void require_reward_model(const ModelConfig& c, const std::string& where);

// `where` names the source (a file path) in error messages.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& where);
ModelConfig parse_model_config_text(const std::string& text, const std::string& where);
ModelConfig load_model_config(const std::string& path);

nlohmann::json model_config_to_json(const ModelConfig& c);
void save_model_config(const ModelConfig& c, const std::string& path);

}  // namespace baimo
