// InferenceModel: what `baimo generate`, `chat` and `eval` need from a model path, loaded once:
// weights (model_weights.h; a model directory may be converted to another type at load time),
// the tokenizer (the directory's tokenizer.json, or the GGUF's own), the chat template
// (--chat-template name, else detected from the model's metadata and tokens) and the EOS ids
// (the tokenizer's eos plus config.json's eos_token_id list).
// A model without a tokenizer is a baimo::Error naming the path.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "baimo/infer/model_weights.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct InferenceModel {
  std::shared_ptr<const ModelWeights> weights;
  std::shared_ptr<const Tokenizer> tokenizer;
  ChatTemplateKind chat_template = ChatTemplateKind::ChatML;
  std::vector<int32_t> eos_ids;
  const ModelConfig& config() const { return weights->config; }
};

// dtype: "" or f32 | f16 | bf16 | q8_0 | q4_0; chat_template: "" (detect) or a template name.
InferenceModel load_inference_model(const std::string& path, const std::string& dtype = "",
                                    const std::string& chat_template = "");

// text -> ids with special tokens recognised (chat markers); the tokenizer's ids must fit the model.
std::vector<int32_t> encode_prompt(const InferenceModel& m, const std::string& text);

}  // namespace baimo
