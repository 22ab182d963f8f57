#include "baimo/model/tokenizer_vocab.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace {
constexpr int64_t kMaxId = int64_t{1} << 31;
}

int64_t tokenizer_json_vocab_size_text(const std::string& text, const std::string& where) {
  using json = nlohmann::json;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
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
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) fail("{}: field \"added_tokens\" must be a list", where);
    for (const auto& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id")) fail("{}: field \"added_tokens\": each entry needs an \"id\"", where);
      max_id = std::max(max_id, id_of(t["id"], "added_tokens.id"));
    }
  }
  if (max_id < 0) fail("{}: the tokenizer has no tokens", where);
  return max_id + 1;
}

int64_t tokenizer_json_vocab_size(const std::string& path) {
  return tokenizer_json_vocab_size_text(read_file(path), path);
}

}  // namespace baimo
