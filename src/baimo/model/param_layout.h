// The transformer's parameters as Hugging Face names them, derived from a ModelConfig alone: the ONE
// schema every weight container is built from (the autograd Transformer, the engine's ModelWeights,
// model directories, GGUF files, checkpoints). A new parameter (an architecture knob, a head) is one
// more entry here, with its role; containers walk the list.
//   model.embed_tokens.weight (V, C)
//   model.layers.N.input_layernorm.weight (C), model.layers.N.post_attention_layernorm.weight (C)
//   model.layers.N.self_attn.q_proj.weight (H*D, C)  [+ .bias (H*D) with qkv_bias]
//   model.layers.N.self_attn.k_proj.weight (KV*D, C) [+ .bias], v_proj likewise
//   model.layers.N.self_attn.o_proj.weight (C, H*D)  [+ .bias (C) with o_bias]
//   model.layers.N.mlp.gate_proj.weight (F, C), up_proj (F, C), down_proj (C, F)
//   model.norm.weight (C), lm_head.weight (V, C) unless tie_word_embeddings
//   -- or, for a reward model (config.head SequenceClassification), score.weight (num_labels, C)
//   in place of any lm_head (transformers' *ForSequenceClassification: a Linear without bias)
// (weights are (out, in), as torch.nn.Linear stores them). The order is the file order baimo writes.
// Each entry also says what it is: its kind (how it is stored and initialized), its role in the
// architecture (which slot of a container it fills) and its layer (-1 outside the layers).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/model/config.h"

namespace baimo {

enum class ParamKind { Embedding, Matrix, Bias, Norm };

enum class ParamRole {
  Embed,      // model.embed_tokens.weight
  AttnNorm,   // input_layernorm
  Q, QBias, K, KBias, V, VBias, O, OBias,
  MlpNorm,    // post_attention_layernorm
  Gate, Up, Down,
  FinalNorm,  // model.norm.weight
  LmHead,     // lm_head.weight (absent when tied)
  Score,      // score.weight of a reward model
};

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  ParamKind kind;
  ParamRole role = ParamRole::Embed;
  int64_t layer = -1;  // the layer of a per-layer parameter; -1 otherwise
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

std::vector<ParamSpec> param_layout(const ModelConfig& c);

// Names inside a layer, for code that walks blocks.
std::string layer_param(int64_t layer, const char* suffix);  // "model.layers.<layer>.<suffix>"

}  // namespace baimo
