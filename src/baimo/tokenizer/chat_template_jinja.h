// The Jinja text of a chat template, for the tokenizer_config.json a training command writes beside
// its model, so that other engines (transformers, llama.cpp, vLLM) and baimo's own detection
// (detect_chat_template) render conversations exactly as the model was trained.
//   ChatML: Qwen's plain ChatML ("<|im_start|>{role}\n{content}<|im_end|>\n", generation prompt
//           "<|im_start|>assistant\n"); Llama3: Meta's header/eot form with "<|begin_of_text|>" first
//           and trimmed contents; Plain: "" (base-model text has no template).
#pragma once
#include <string>

#include "baimo/tokenizer/chat_template.h"

namespace baimo {

std::string chat_template_jinja(ChatTemplateKind kind);

}  // namespace baimo
