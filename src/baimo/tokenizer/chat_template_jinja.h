// The Jinja text of a chat template, for the tokenizer_config.json a training command writes beside
// its model, so that other engines (transformers, llama.cpp, vLLM) and baimo's own detection
// (detect_chat_template) render conversations exactly as the model was trained.
//   ChatML: Qwen2.5's template without its default system prompt: "<|im_start|>{role}\n{content}<|im_end|>\n",
//           generation prompt "<|im_start|>assistant\n"; with tools, Qwen2.5's "# Tools" block after the
//           system prompt, tool calls as <tool_call> blocks, tool results as a user turn of
//           <tool_response> blocks -- the text render_chat gives the messages that serve and SFT data
//           build for tools (data/chat_records.h); Llama3: Meta's header/eot form with "<|begin_of_text|>" first
//           and trimmed contents; Plain: "" (base-model text has no template).
#pragma once
#include <string>
#include <string_view>

#include "baimo/tokenizer/chat_template.h"

namespace baimo {

std::string chat_template_jinja(ChatTemplateKind kind);
// Whether `jinja` is one of baimo's own templates (this version's or an earlier one's): a model that
// carries one is served with the built-in renderer, which renders the same text.
bool is_builtin_chat_template(std::string_view jinja);

}  // namespace baimo
