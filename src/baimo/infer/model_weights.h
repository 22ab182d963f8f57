// ModelWeights: everything inference needs from a model, no autograd. Each matrix is a
// WeightMatrix (F32/F16/BF16/Q8_0/Q4_0, optionally with a packed copy) multiplied through
// quant::weight_matmul; norms and biases are f32. `storage` owns (or keeps mapped) every byte the
// pointers refer to, so a ModelWeights can be copied and shared freely (read-only).
// Shapes (HF layout, (out, in)): embed (V, C); q (H*D, C); k, v (KV*D, C); o (C, H*D);
// gate, up (F, C); down (C, F); lm_head (V, C) (== embed when tie_word_embeddings).
// Contract:
// - weights_from_transformer converts every matrix to `type` with quant/row_convert (a matrix whose
//   row length is no multiple of the block size stays F32), packs Q8_0/Q4_0 matrices
//   (quant/weight_pack.h); embed/lm_head are converted too. F32 shares the Transformer's buffers.
//   A frozen base's matrices (Transformer::frozen_params) are taken as they are, whatever `type`
//   (their blocks, and a Q8_0 / Q4_0 packed-only copy: data == nullptr, which the engine reads
//   through the backend). An attached LoRA adapter is NOT included (infer/live_weights.h merges it).
// - load_inference_weights(path): a Hugging Face model directory (config.json + safetensors) or a GGUF
//   file, as model/open_model.h decides (by content: a GGUF named x.bin loads too; infer/gguf_model.h);
//   chat_template from tokenizer_config.json / GGUF metadata.
//   Bad files throw baimo::Error naming the file.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "baimo/kernels/weight_matrix.h"
#include "baimo/model/config.h"
#include "baimo/model/param_layout.h"
#include "baimo/tensor/dtype.h"

namespace baimo {

class Transformer;

struct LayerWeights {
  WeightMatrix q, k, v, o, gate, up, down;
  const float* q_bias = nullptr;  // (H*D), nullptr when absent
  const float* k_bias = nullptr;  // (KV*D)
  const float* v_bias = nullptr;  // (KV*D)
  const float* o_bias = nullptr;  // (C), llama attention_bias only
  const float* attn_norm = nullptr;  // (C) input_layernorm
  const float* mlp_norm = nullptr;   // (C) post_attention_layernorm
};

struct ModelWeights {
  ModelConfig config;
  WeightMatrix embed;  // (V, C), any dtype
  std::vector<LayerWeights> layers;
  const float* final_norm = nullptr;  // (C)
  WeightMatrix lm_head;        // (V, C); == embed when tied
  std::shared_ptr<const void> storage;  // keeps buffers / mappings alive
  std::string chat_template;            // jinja text from the model's metadata; may be empty
};

// The slot of w that a parameter of param_layout(w.config) fills, chosen by its role and layer
// (w.layers must be sized): a matrix (Embed, LmHead and the layer products) or a vector (norms,
// biases); exactly one of the two is set.
struct WeightSlot {
  WeightMatrix* matrix = nullptr;
  const float** vector = nullptr;
};
WeightSlot weight_slot(ModelWeights& w, const ParamSpec& spec);
// The matrix of layer `layer` with `role` (q, k, v, o, gate, up, down), through weight_slot;
// baimo::Error when the role names no layer matrix (`who` names the caller).
WeightMatrix& layer_matrix(ModelWeights& w, int64_t layer, ParamRole role, const char* who);

// Builds every slot of w by walking param_layout(w.config) (w.layers sized from the config):
// matrix(spec) gives each matrix, vector(spec) each norm / bias; lm_head = embed when tied.
// The one way ModelWeights are filled (from a Transformer, a model directory or a GGUF file).
template <class Matrix, class Vector>
void fill_model_weights(ModelWeights& w, Matrix&& matrix, Vector&& vector) {
  w.layers.assign(static_cast<size_t>(w.config.num_hidden_layers), LayerWeights{});
  for (const ParamSpec& spec : param_layout(w.config)) {
    const WeightSlot slot = weight_slot(w, spec);
    if (slot.matrix)
      *slot.matrix = matrix(spec);
    else
      *slot.vector = vector(spec);
  }
  if (w.config.tie_word_embeddings) w.lm_head = w.embed;
}

ModelWeights weights_from_transformer(const Transformer& model, DType type = DType::F32);
ModelWeights load_inference_weights(const std::string& path);
// The same, with a model directory's matrices converted to `type` at load time (F32/F16/BF16/Q8_0/Q4_0);
// a .gguf keeps its own types (baimo::Error if `type` is not F32: use `baimo quantize`).
ModelWeights load_inference_weights(const std::string& path, DType type);

// Checks that every pointer is set and every matrix has the shape the config implies;
// baimo::Error naming `where` and the tensor otherwise. (Loaders call it; cheap.)
void validate_model_weights(const ModelWeights& w, const std::string& where);

}  // namespace baimo
