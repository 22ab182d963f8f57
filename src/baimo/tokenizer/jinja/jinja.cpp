#include "baimo/tokenizer/jinja/jinja.h"

#include "baimo/tokenizer/jinja/interp.h"
#include "baimo/tokenizer/jinja/lexer.h"
#include "baimo/tokenizer/jinja/parser.h"
#include "baimo/util/error.h"

namespace baimo {

std::string render_jinja(const std::string& template_text, const nlohmann::ordered_json& context) {
  if (!context.is_object()) fail("template context must be a JSON object");
  jinja::copy_budget_reset();
  jinja::Body body = jinja::parse(jinja::lex(template_text));
  auto root = std::make_shared<jinja::Scope>();
  for (auto it = context.begin(); it != context.end(); ++it) root->vars[it.key()] = jinja::Value::from_json(it.value());
  return jinja::run_template(body, root);
}

std::string render_chat_jinja(const std::string& template_text, const nlohmann::ordered_json& messages,
                              const nlohmann::ordered_json& tools, bool add_generation_prompt, const std::string& bos_token,
                              const std::string& eos_token, const nlohmann::ordered_json& extra) {
  if (!messages.is_array()) fail("chat template: messages must be a JSON array");
  if (!tools.is_null() && !tools.is_array()) fail("chat template: tools must be a JSON array");
  if (!extra.is_null() && !extra.is_object()) fail("chat template: extra variables must be a JSON object");
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages;
  ctx["tools"] = tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = add_generation_prompt;
  if (!bos_token.empty()) ctx["bos_token"] = bos_token;
  if (!eos_token.empty()) ctx["eos_token"] = eos_token;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = it.value();
  return render_jinja(template_text, ctx);
}

}  // namespace baimo
