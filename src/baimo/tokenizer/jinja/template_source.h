// Where a model's Jinja chat template comes from, as transformers finds it: a template file
// (*.jinja or any text), a tokenizer_config.json, or a model directory (chat_template.jinja, else
// tokenizer_config.json's "chat_template": a string, or a list of {"name", "template"} from which
// "tool_use" is taken when tools are given and it exists, else "default").
// special_tokens: tokenizer_config.json's bos/eos/unk/sep/pad/cls/mask tokens (strings or
// {"content": ...}) and additional_special_tokens, as apply_chat_template passes them; null ones
// are left out. Errors name the file and field.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace baimo {

struct ChatTemplateSource {
  std::string text;
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
  std::string origin;  // the file the template text was read from
};

ChatTemplateSource load_chat_template_source(const std::string& path, bool with_tools);

}  // namespace baimo
