#include "baimo/tokenizer/add_special_tokens.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"

namespace baimo {

AddedSpecialTokens add_special_tokens(std::string_view tokenizer_json, std::span<const std::string> tokens,
                                      const std::string& name) {
  using nlohmann::json;
  json j = json::parse(tokenizer_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("{}: not a tokenizer.json (expected a JSON object)", name);
  auto model = j.find("model");
  if (model == j.end() || !model->is_object() || !model->contains("vocab") || !(*model)["vocab"].is_object())
    fail("{}: field 'model.vocab': missing or not an object", name);
  const json& vocab = (*model)["vocab"];
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) j["added_tokens"] = json::array();
  json& added = j["added_tokens"];
  if (!added.is_array()) fail("{}: field 'added_tokens': expected an array", name);

  uint64_t next = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_unsigned()) fail("{}: model.vocab[{:?}] must be a non-negative integer", name, it.key());
    next = std::max(next, it.value().get<uint64_t>() + 1);
  }
  for (size_t i = 0; i < added.size(); ++i) {
    const json& a = added[i];
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content") ||
        !a["content"].is_string())
      fail("{}: added_tokens[{}] must have an unsigned \"id\" and a string \"content\"", name, i);
    next = std::max(next, a["id"].get<uint64_t>() + 1);
  }

  AddedSpecialTokens out;
  for (const std::string& t : tokens) {
    if (t.empty()) fail("{}: cannot add an empty special token", name);
    try {
      (void)json(t).dump();
    } catch (const json::exception&) {
      fail("{}: special token {:?} is not valid UTF-8", name, t);
    }
    json* existing = nullptr;
    for (json& a : added)
      if (a["content"].get_ref<const std::string&>() == t) existing = &a;
    if (existing) {
      (*existing)["special"] = true;
      out.ids.push_back(static_cast<uint32_t>((*existing)["id"].get<uint64_t>()));
      continue;
    }
    if (auto v = vocab.find(byte_level::bytes_to_unicode(t)); v != vocab.end())
      fail("{}: cannot make {:?} a special token: it is a normal vocabulary token (id {}) that BPE merges produce",
           name, t, v->get<uint64_t>());
    const uint64_t id = next++;
    ++out.new_ids;
    if (id > UINT32_MAX) fail("{}: token id {} is too large", name, id);
    added.push_back({{"id", id}, {"content", t}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
    out.ids.push_back(static_cast<uint32_t>(id));
  }
  out.json = j.dump(2, ' ', false, json::error_handler_t::strict);
  return out;
}

std::vector<std::string> chat_template_special_tokens(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML: return {"<|im_start|>", "<|im_end|>"};
    case ChatTemplateKind::Llama3: return {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    case ChatTemplateKind::Plain: return {};
  }
  return {};
}

std::vector<std::string> missing_special_tokens(const Tokenizer& tok, ChatTemplateKind kind) {
  std::vector<std::string> out;
  for (std::string& t : chat_template_special_tokens(kind)) {
    const std::optional<uint32_t> id = tok.token_to_id(t);
    if (!id || !tok.is_added(*id)) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace baimo
