// baimo template render --template FILE|MODEL_DIR --messages FILE.json [--tools FILE.json]
//                       [--add-generation-prompt] [--bos-token T] [--eos-token T] [--extra FILE.json]
// Renders a conversation with a model's own Jinja chat template, as transformers'
// apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False) does, and
// prints the text (nothing added). --template: a template file, a tokenizer_config.json or a model
// directory (whose special tokens are passed too; --bos-token/--eos-token override them).
// --messages: a JSON array of messages; --tools: a JSON array of tool definitions; --extra: a JSON
// object of further template variables (date_string, enable_thinking, ...).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "baimo/cli/command.h"
#include "baimo/tokenizer/jinja/jinja.h"
#include "baimo/tokenizer/jinja/template_source.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct TemplateOpts {
  std::string template_path, messages, tools, extra, bos, eos;
  bool add_generation_prompt = false;
};

ojson read_json(const std::string& path, const char* what) {
  std::string text = read_file(path);
  try {
    return ojson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: {} is not valid JSON: {}", path, what, e.what());
  }
}

void run_render(const TemplateOpts& o) {
  ojson messages = read_json(o.messages, "--messages");
  if (!messages.is_array()) fail("{}: --messages must hold a JSON array of messages", o.messages);
  ojson tools = nullptr;
  if (!o.tools.empty()) {
    tools = read_json(o.tools, "--tools");
    if (!tools.is_array()) fail("{}: --tools must hold a JSON array of tool definitions", o.tools);
  }
  ChatTemplateSource src = load_chat_template_source(o.template_path, !tools.is_null());
  ojson extra = src.special_tokens;
  if (!o.bos.empty()) extra["bos_token"] = o.bos;
  if (!o.eos.empty()) extra["eos_token"] = o.eos;
  if (!o.extra.empty()) {
    ojson more = read_json(o.extra, "--extra");
    if (!more.is_object()) fail("{}: --extra must hold a JSON object", o.extra);
    for (auto it = more.begin(); it != more.end(); ++it) extra[it.key()] = it.value();
  }
  std::string text;
  try {
    text = render_chat_jinja(src.text, messages, tools, o.add_generation_prompt, "", "", extra);
  } catch (const Error& e) {
    fail("{}: {}", src.origin, e.what());
  }
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) fail("template: writing stdout failed");
}

BAIMO_COMMAND(75, [](CLI::App& root) {
  CLI::App* parent = parent_command(root, "template", "Run a model's own Jinja chat template");
  auto o = std::make_shared<TemplateOpts>();
  CLI::App* sub = parent->add_subcommand("render", "Render a conversation with a Jinja chat template (as transformers does)");
  sub->add_option("--template", o->template_path, "Template file, tokenizer_config.json or model directory")->required();
  sub->add_option("--messages", o->messages, "JSON file: an array of messages")->required();
  sub->add_option("--tools", o->tools, "JSON file: an array of tool (function) definitions");
  sub->add_flag("--add-generation-prompt", o->add_generation_prompt, "End with the assistant's turn header");
  sub->add_option("--bos-token", o->bos, "bos_token (overrides the model directory's)");
  sub->add_option("--eos-token", o->eos, "eos_token (overrides the model directory's)");
  sub->add_option("--extra", o->extra, "JSON file: an object of further template variables");
  sub->callback([o] { run_render(*o); });
});

}  // namespace
}  // namespace baimo::cli
