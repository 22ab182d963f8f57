#include "baimo/tokenizer/jinja/template_source.h"

#include <filesystem>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace {

using ojson = nlohmann::ordered_json;

ojson parse_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return ojson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

std::string template_from_config(const ojson& cfg, const std::string& path, bool with_tools) {
  auto it = cfg.find("chat_template");
  if (it == cfg.end() || it->is_null()) fail("{}: no \"chat_template\" field", path);
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) fail("{}: \"chat_template\" must be a string or a list of {{\"name\", \"template\"}}", path);
  std::string def, tool;
  bool has_def = false, has_tool = false;
  for (const auto& e : *it) {
    if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() || !e["template"].is_string())
      fail("{}: each \"chat_template\" entry must be {{\"name\": string, \"template\": string}}", path);
    if (e["name"] == "default") def = e["template"].get<std::string>(), has_def = true;
    if (e["name"] == "tool_use") tool = e["template"].get<std::string>(), has_tool = true;
  }
  if (with_tools && has_tool) return tool;
  if (has_def) return def;
  fail("{}: \"chat_template\" has no \"default\" template", path);
}

ojson special_tokens_of(const ojson& cfg, const std::string& path) {
  ojson out = ojson::object();
  auto token_text = [&](const ojson& v, const std::string& field) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    fail("{}: \"{}\" must be a string or {{\"content\": string}}", path, field);
  };
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto it = cfg.find(name);
    if (it != cfg.end() && !it->is_null()) out[name] = token_text(*it, name);
  }
  auto add = cfg.find("additional_special_tokens");
  if (add != cfg.end() && add->is_array()) {
    ojson list = ojson::array();
    for (const auto& t : *add) list.push_back(token_text(t, "additional_special_tokens"));
    out["additional_special_tokens"] = list;
  }
  return out;
}

}  // namespace

ChatTemplateSource load_chat_template_source(const std::string& path, bool with_tools) {
  namespace fs = std::filesystem;
  ChatTemplateSource src;
  if (fs::is_directory(path)) {
    const std::string cfg_path = (fs::path(path) / "tokenizer_config.json").string();
    const std::string jinja_path = (fs::path(path) / "chat_template.jinja").string();
    ojson cfg = fs::exists(cfg_path) ? parse_json_file(cfg_path) : ojson::object();
    if (!cfg.is_object()) fail("{}: expected a JSON object", cfg_path);
    src.special_tokens = special_tokens_of(cfg, cfg_path);
    if (fs::exists(jinja_path)) {
      src.text = read_file(jinja_path);
      src.origin = jinja_path;
    } else {
      if (!fs::exists(cfg_path)) fail("{}: no chat_template.jinja and no tokenizer_config.json", path);
      src.text = template_from_config(cfg, cfg_path, with_tools);
      src.origin = cfg_path;
    }
    return src;
  }
  if (!fs::exists(path)) fail("{}: no such file or directory", path);
  if (fs::path(path).extension() == ".json") {
    ojson cfg = parse_json_file(path);
    if (!cfg.is_object()) fail("{}: expected a JSON object", path);
    src.text = template_from_config(cfg, path, with_tools);
    src.special_tokens = special_tokens_of(cfg, path);
  } else {
    src.text = read_file(path);
  }
  src.origin = path;
  return src;
}

}  // namespace baimo
