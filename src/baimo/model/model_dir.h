// A model directory in the Hugging Face layout:
//   config.json              ModelConfig (config.h)
//   model.safetensors        the parameters under HF names (param_layout.h), metadata {"format": "pt"}
//                            -- or, when reading, model.safetensors.index.json + shards
//   tokenizer.json           copied in when the caller has one, with the tokenizer_config.json
//                            beside it when there is one (add_bos_token, bos/eos, chat template)
//   generation_config.json   bos/eos ids (copied from a source when given)
// Contract: every file is written atomically; a tokenizer.json already in the directory is left as
// it is unless one is given (so saving a checkpoint over its own directory keeps it); loading checks that every expected tensor is present
// with the expected shape (F32/F16/BF16, converted to f32) and that no unknown tensor is present
// (rotary_emb.inv_freq buffers, and lm_head.weight of a tied model, are ignored as transformers
// does); errors name the file and the tensor.
#pragma once
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "baimo/io/safetensors.h"
#include "baimo/model/config.h"
#include "baimo/model/param_layout.h"

namespace baimo {

struct ModelDirSave {
  DType dtype = DType::F32;                // F32, F16 or BF16 on disk
  std::string tokenizer_json;              // a file to copy in as tokenizer.json ("" = none), and
                                           // the tokenizer_config.json beside it, if any
  std::string generation_config_json;      // a file to copy in ("" = write one from the config)
};

void save_model_dir(const std::string& dir, const ModelConfig& cfg, const std::vector<SafetensorWrite>& weights,
                    const ModelDirSave& opts = {});

ModelConfig load_model_dir_config(const std::string& dir);

// Reads the safetensors of a model directory: calls dest(spec) for each parameter of param_layout(cfg)
// and fills the returned span (numel floats). (The engine's weights of a model path: infer/model_weights.h
// load_inference_weights.)
void read_model_dir_tensors(const std::string& dir, const ModelConfig& cfg,
                            const std::function<std::span<float>(const ParamSpec&)>& dest);

// Every parameter of param_layout(cfg), read whole into f32 vectors by name.
std::map<std::string, std::vector<float>> read_model_dir_params(const std::string& dir, const ModelConfig& cfg);

// Writes `params` (param_layout(cfg) names) as a model directory derived from the one at `source_dir`
// (pruned, grown): stored in cfg's torch_dtype, with the source's tokenizer, tokenizer_config and
// generation_config.
void save_derived_model_dir(const std::string& dir, const ModelConfig& cfg,
                            const std::map<std::string, std::vector<float>>& params, const std::string& source_dir);

// Paths of the optional files inside `dir` ("" when absent).
std::string model_dir_tokenizer(const std::string& dir);
std::string model_dir_generation_config(const std::string& dir);
// tokenizer_config.json's "chat_template" string ("" when the file or the field is absent or null);
// baimo::Error naming the file when it is not JSON or the field is not a string.
std::string model_dir_chat_template(const std::string& dir);

}  // namespace baimo
