#include "baimo/tokenizer/json_vocab_summary.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace {
constexpr int64_t kMaxId = int64_t{1} << 31;
}

TokenizerJsonSummary tokenizer_json_summary_text(const std::string& text, const std::string& where) {
  using json = nlohmann::json;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 9e999
    fail("{}: not valid JSON: {}", where, e.what());
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab"))
    fail("{}: missing field \"model.vocab\" (not a Hugging Face tokenizer.json?)", where);
  auto id_of = [&](const json& v, const char* field) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxId)
      fail("{}: field \"{}\" holds an id that is not an integer in [0, {})", where, field, kMaxId);
    return v.get<int64_t>();
  };
  const json& vocab = j["model"]["vocab"];
  int64_t max_id = -1;
  if (vocab.is_object()) {
    for (const auto& [tok, id] : vocab.items()) max_id = std::max(max_id, id_of(id, "model.vocab"));
  } else if (vocab.is_array()) {
    max_id = static_cast<int64_t>(vocab.size()) - 1;  // Unigram: the id is the position
  } else {
    fail("{}: field \"model.vocab\" must be an object or a list", where);
  }
  std::map<std::string, int64_t> added;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) fail("{}: field \"added_tokens\" must be a list", where);
    for (const auto& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id")) fail("{}: field \"added_tokens\": each entry needs an \"id\"", where);
      int64_t id = id_of(t["id"], "added_tokens.id");
      max_id = std::max(max_id, id);
      if (t.contains("content") && t["content"].is_string()) added.emplace(t["content"].get<std::string>(), id);
    }
  }
  if (max_id < 0) fail("{}: the tokenizer has no tokens", where);
  TokenizerJsonSummary s;
  s.vocab_size = max_id + 1;
  for (const char* b : {"<s>", "<|begin_of_text|>", "<bos>"})
    if (!s.bos_id && added.count(b)) s.bos_id = added[b];
  for (const char* e : {"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|im_end|>", "<|eot_id|>"})
    if (added.count(e)) s.eos_ids.push_back(added[e]);
  return s;
}

TokenizerJsonSummary tokenizer_json_summary(const std::string& path) {
  return tokenizer_json_summary_text(read_file(path), path);
}

int64_t tokenizer_json_vocab_size_text(const std::string& text, const std::string& where) {
  return tokenizer_json_summary_text(text, where).vocab_size;
}

int64_t tokenizer_json_vocab_size(const std::string& path) {
  return tokenizer_json_vocab_size_text(read_file(path), path);
}

}  // namespace baimo
