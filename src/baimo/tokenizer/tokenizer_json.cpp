// Hugging Face tokenizer.json: loading (checked field by field) and saving.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "baimo/tokenizer/tokenizer_impl.h"
#include "baimo/tokenizer/tokenizer_merges.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace {

using json = nlohmann::json;

const json& field(const json& obj, const char* key, const std::string& name, const char* where) {
  auto it = obj.find(key);
  if (it == obj.end()) fail("{}: {} has no field \"{}\"", name, where, key);
  return *it;
}

// Optional fields of a fixed type: absent → def; present with another type → an error naming it.
bool opt_bool(const json& obj, const char* key, bool def, const std::string& name, const char* where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_boolean()) fail("{}: {}.{} must be true or false, got {}", name, where, key, it->type_name());
  return it->get<bool>();
}

std::string opt_string(const json& obj, const char* key, const char* def, const std::string& name, const char* where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_string()) fail("{}: {}.{} must be a string, got {}", name, where, key, it->type_name());
  return it->get<std::string>();
}

// Pre-tokenizer kind from the "pre_tokenizer" object.
PreTokenizerKind parse_pre_tokenizer(const json& pt, const std::string& name) {
  if (!pt.is_object()) fail("{}: pre_tokenizer must be an object (byte-level BPE needs one)", name);
  const json& type = field(pt, "type", name, "pre_tokenizer");
  if (type == "ByteLevel") {
    if (opt_bool(pt, "add_prefix_space", false, name, "pre_tokenizer")) fail("{}: pre_tokenizer ByteLevel add_prefix_space=true is not supported", name);
    if (!opt_bool(pt, "use_regex", true, name, "pre_tokenizer")) fail("{}: pre_tokenizer ByteLevel without a split pattern is not supported", name);
    return PreTokenizerKind::Gpt2;
  }
  if (type != "Sequence") fail("{}: pre_tokenizer type {} is not supported (ByteLevel or Sequence)", name, type.dump());
  const json& seq = field(pt, "pretokenizers", name, "pre_tokenizer");
  if (!seq.is_array() || seq.size() != 2)
    fail("{}: pre_tokenizer Sequence must be [Split, ByteLevel] (got {} entries)", name, seq.is_array() ? seq.size() : 0);
  const json& split = seq[0];
  const json& bl = seq[1];
  if (!split.is_object() || opt_string(split, "type", "", name, "pre_tokenizer.pretokenizers[0]") != "Split")
    fail("{}: pre_tokenizer.pretokenizers[0] must be a Split", name);
  if (!bl.is_object() || opt_string(bl, "type", "", name, "pre_tokenizer.pretokenizers[1]") != "ByteLevel")
    fail("{}: pre_tokenizer.pretokenizers[1] must be ByteLevel", name);
  if (opt_bool(bl, "use_regex", true, name, "pre_tokenizer.pretokenizers[1]")) fail("{}: pre_tokenizer.pretokenizers[1] ByteLevel must have use_regex=false", name);
  if (opt_bool(bl, "add_prefix_space", false, name, "pre_tokenizer.pretokenizers[1]")) fail("{}: ByteLevel add_prefix_space=true is not supported", name);
  if (opt_string(split, "behavior", "", name, "pre_tokenizer.pretokenizers[0]") != "Isolated" || opt_bool(split, "invert", false, name, "pre_tokenizer.pretokenizers[0]"))
    fail("{}: Split must have behavior \"Isolated\" and invert false", name);
  const json& pat = field(split, "pattern", name, "Split");
  if (!pat.is_object() || !pat.contains("Regex") || !pat["Regex"].is_string())
    fail("{}: Split.pattern must be {{\"Regex\": string}}", name);
  std::string regex = pat["Regex"].get<std::string>();
  auto kind = kind_from_pattern(regex);
  if (!kind) fail("{}: Split pattern {:?} is not one of the supported patterns (gpt2, cl100k/llama3, qwen2, o200k, baimo)", name, regex);
  return *kind;
}

Normalizer parse_normalizer(const json& n, const std::string& name) {
  if (n.is_null()) return Normalizer::None;
  if (!n.is_object()) fail("{}: normalizer must be null or an object", name);
  std::string type = opt_string(n, "type", "", name, "normalizer");
  if (type == "NFC") return Normalizer::Nfc;
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    if (n["normalizers"].empty()) return Normalizer::None;
    if (n["normalizers"].size() == 1) return parse_normalizer(n["normalizers"][0], name);
  }
  fail("{}: normalizer {} is not supported (null or NFC)", name, n.dump().substr(0, 200));
}

std::optional<uint32_t> special_id_from_config(const json& cfg, const char* key, const Tokenizer::Impl& m) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  std::string content;
  if (it->is_string()) content = it->get<std::string>();
  else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) content = (*it)["content"].get<std::string>();
  else return std::nullopt;
  for (const AddedToken& a : m.added)
    if (a.content == content) return a.id;
  return std::nullopt;
}

// A post_processor TemplateProcessing (alone or inside a Sequence) whose "single" template starts
// with a special token: that token is prepended to every input (Llama-style BOS). Returns its
// content and id (from "special_tokens", else the added token of that content); nullopt for any
// other post_processor (ByteLevel, null, ...). Malformed templates throw naming the file.
std::optional<std::pair<std::string, std::optional<uint32_t>>> template_bos(const json& pp, const Tokenizer::Impl& m,
                                                                            const std::string& name) {
  if (!pp.is_object()) return std::nullopt;
  const std::string type = opt_string(pp, "type", "", name, "post_processor");
  if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
    for (const json& p : pp["processors"])
      if (auto b = template_bos(p, m, name)) return b;
    return std::nullopt;
  }
  if (type != "TemplateProcessing") return std::nullopt;
  const json& single = field(pp, "single", name, "post_processor TemplateProcessing");
  if (!single.is_array() || single.empty()) fail("{}: post_processor.single must be a non-empty array", name);
  const json& first = single[0];
  if (!first.is_object() || !first.contains("SpecialToken")) return std::nullopt;  // starts with the text
  const json& st = first["SpecialToken"];
  if (!st.is_object() || !st.contains("id") || !st["id"].is_string())
    fail("{}: post_processor.single[0].SpecialToken must have a string \"id\"", name);
  std::string content = st["id"].get<std::string>();
  std::optional<uint32_t> id;
  if (pp.contains("special_tokens") && pp["special_tokens"].is_object() && pp["special_tokens"].contains(content)) {
    const json& e = pp["special_tokens"][content];
    if (e.is_object() && e.contains("ids") && e["ids"].is_array() && e["ids"].size() == 1 &&
        e["ids"][0].is_number_unsigned())
      id = static_cast<uint32_t>(std::min<uint64_t>(e["ids"][0].get<uint64_t>(), UINT32_MAX));
  }
  if (!id)
    for (const AddedToken& a : m.added)
      if (a.content == content) id = a.id;
  return std::make_pair(content, id);
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(std::string_view text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", name, e.what());
  }
  if (!j.is_object()) fail("{}: top level must be an object", name);
  auto m = std::make_unique<Impl>();
  m->name = name;
  const json& model = field(j, "model", name, "the file");
  if (!model.is_object()) fail("{}: model must be an object", name);
  if (opt_string(model, "type", "BPE", name, "model") != "BPE") fail("{}: model.type {} is not supported (BPE)", name, model["type"].dump());
  if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() && model["byte_fallback"].get<bool>())
    fail("{}: model.byte_fallback=true (sentencepiece-style BPE) is not supported", name);
  m->whole_piece_lookup = model.contains("ignore_merges") && model["ignore_merges"].is_boolean() &&
                          model["ignore_merges"].get<bool>();
  m->kind = parse_pre_tokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), name);
  m->normalizer = parse_normalizer(j.contains("normalizer") ? j["normalizer"] : json(), name);

  const json& vocab = field(model, "vocab", name, "model");
  if (!vocab.is_object()) fail("{}: model.vocab must be an object", name);
  constexpr uint64_t kMaxId = 1u << 26;
  const json* added_json = j.contains("added_tokens") && j["added_tokens"].is_array() ? &j["added_tokens"] : nullptr;
  const uint64_t limit = id_limit(vocab.size() + (added_json ? added_json->size() : 0));
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_unsigned()) fail("{}: model.vocab[{:?}] must be a non-negative integer", name, it.key());
    uint64_t id = it.value().get<uint64_t>();
    if (id >= kMaxId) fail("{}: model.vocab[{:?}] = {} is too large", name, it.key(), id);
    if (id >= limit)
      fail("{}: model.vocab[{:?}] = {} is too large for a file of {} tokens (ids may leave gaps of at most {})", name,
           it.key(), id, limit - kMaxIdGap, kMaxIdGap);
    auto bytes = byte_level::unicode_to_bytes(it.key());
    if (!bytes) fail("{}: model.vocab key {:?} is not in GPT-2 byte-level form", name, it.key());
    if (id >= m->tokens.size()) {
      m->tokens.resize(id + 1);
      m->flags.resize(id + 1, kUnused);
    }
    if (m->flags[id] != kUnused) fail("{}: model.vocab gives id {} to two tokens", name, id);
    m->tokens[id] = std::move(*bytes);
    m->flags[id] = kNormal;
  }
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const json& at = j["added_tokens"];
    if (!at.is_array()) fail("{}: added_tokens must be an array", name);
    for (size_t i = 0; i < at.size(); ++i) {
      const json& a = at[i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content") ||
          !a["content"].is_string())
        fail("{}: added_tokens[{}] must have an unsigned \"id\" and a string \"content\"", name, i);
      AddedToken t;
      if (a["id"].get<uint64_t>() >= limit)
        fail("{}: added_tokens[{}] id {} is too large for a file of {} tokens (ids may leave gaps of at most {})",
             name, i, a["id"].get<uint64_t>(), limit - kMaxIdGap, kMaxIdGap);
      t.id = static_cast<uint32_t>(std::min<uint64_t>(a["id"].get<uint64_t>(), kMaxId));
      t.content = a["content"].get<std::string>();
      t.special = a.contains("special") && a["special"].is_boolean() ? a["special"].get<bool>() : true;
      // An added token that is also a vocabulary entry stays a normal token for BPE purposes only
      // if it is identical; finalize() checks that.
      m->added.push_back(std::move(t));
    }
  }
  const json& merges = field(model, "merges", name, "model");
  if (!merges.is_array()) fail("{}: model.merges must be an array", name);
  m->merge_list.reserve(merges.size());
  // vocab lookup by byte-level string for merges
  TokenIndex idx;
  m->flags.resize(m->tokens.size(), kUnused);
  idx.build(m->tokens, m->flags, kNormal);
  for (size_t k = 0; k < merges.size(); ++k) {
    const json& mg = merges[k];
    std::string a, b;
    if (mg.is_string()) {
      const std::string& s = mg.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail("{}: model.merges[{}] {:?} must be two tokens separated by one space", name, k, s);
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      a = mg[0].get<std::string>();
      b = mg[1].get<std::string>();
    } else {
      fail("{}: model.merges[{}] must be \"a b\" or [\"a\", \"b\"]", name, k);
    }
    auto ab = byte_level::unicode_to_bytes(a), bb = byte_level::unicode_to_bytes(b);
    uint32_t l = ab ? idx.find(*ab) : TokenIndex::kMissing, r = bb ? idx.find(*bb) : TokenIndex::kMissing;
    if (l == TokenIndex::kMissing || r == TokenIndex::kMissing)
      fail("{}: model.merges[{}] ({:?} {:?}) names a token that is not in model.vocab", name, k, a, b);
    m->merge_list.emplace_back(l, r);
  }
  m->finalize(false);
  if (j.contains("post_processor")) {
    if (auto b = template_bos(j["post_processor"], *m, name)) {
      if (!b->second || *b->second >= m->tokens.size())
        fail("{}: post_processor prepends {:?}, which is not a token of this vocabulary", name, b->first);
      m->bos = b->second;
      m->add_bos = true;
    }
  }
  return Tokenizer(std::move(m));
}

Tokenizer Tokenizer::from_tokenizer_json_file(const std::string& path) {
  Tokenizer t = from_tokenizer_json(read_file(path), path);
  // bos/eos live in the tokenizer_config.json beside it, when there is one.
  std::filesystem::path cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(cfg, ec)) {
    json c = json::parse(read_file(cfg.string()), nullptr, false);
    if (c.is_object()) {
      if (auto bos = special_id_from_config(c, "bos_token", *t.impl_)) t.impl_->bos = bos;
      t.impl_->eos = special_id_from_config(c, "eos_token", *t.impl_);
      // add_bos_token (LlamaTokenizer's switch) wins over the post_processor.
      if (auto it = c.find("add_bos_token"); it != c.end() && !it->is_null()) {
        if (!it->is_boolean()) fail("{}: add_bos_token must be true or false", cfg.string());
        t.impl_->add_bos = it->get<bool>();
        if (t.impl_->add_bos && !t.impl_->bos)
          fail("{}: add_bos_token is true but bos_token names no token of {}", cfg.string(), path);
      }
    }
  }
  return t;
}

std::string Tokenizer::to_tokenizer_json() const {
  const Impl& m = *impl_;
  if (m.kind == PreTokenizerKind::DeepseekCoder)
    fail("{}: the deepseek-coder pre-tokenizer has no single-regex tokenizer.json form", m.name);
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ojson added = ojson::array();
  for (const AddedToken& a : m.added)
    added.push_back({{"id", a.id}, {"content", a.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", a.special}});
  j["added_tokens"] = added;
  j["normalizer"] = m.normalizer == Normalizer::Nfc ? ojson{{"type", "NFC"}} : ojson(nullptr);
  ojson byte_level_pt = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"},
                           {"pattern", {{"Regex", std::string(pattern_string(m.kind))}}},
                           {"behavior", "Isolated"},
                           {"invert", false}},
                          byte_level_pt}}};
  if (m.add_bos && m.bos) {
    // As Llama-3's tokenizer.json: ByteLevel, then the BOS prepended to each sequence.
    const std::string bos = id_to_token(*m.bos);
    auto special = [&](int type_id) { return ojson{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
    auto seq = [](const char* id, int type_id) { return ojson{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
    ojson specials = ojson::object();
    specials[bos] = {{"id", bos}, {"ids", {*m.bos}}, {"tokens", {bos}}};
    j["post_processor"] = {{"type", "Sequence"},
                           {"processors",
                            {byte_level_pt,
                             {{"type", "TemplateProcessing"},
                              {"single", {special(0), seq("A", 0)}},
                              {"pair", {special(0), seq("A", 0), special(1), seq("B", 1)}},
                              {"special_tokens", specials}}}}};
  } else {
    j["post_processor"] = byte_level_pt;
  }
  j["decoder"] = byte_level_pt;
  ojson vocab = ojson::object();
  {
    // ordered_map::operator[] searches linearly; keys are distinct, so append to the vector directly.
    auto& entries = static_cast<std::vector<std::pair<const std::string, ojson>>&>(vocab.get_ref<ojson::object_t&>());
    for (uint32_t id = 0; id < m.tokens.size(); ++id)
      if (m.flags[id] == kNormal) entries.emplace_back(byte_level::bytes_to_unicode(m.tokens[id]), id);
  }
  ojson merges = ojson::array();
  for (std::string& mg : tokenizer_merges_text(*this)) merges.push_back(std::move(mg));
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},          {"unk_token", nullptr},
                {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                {"byte_fallback", false}, {"ignore_merges", m.whole_piece_lookup}, {"vocab", vocab},
                {"merges", merges}};
  try {
    return j.dump(1, ' ', false, ojson::error_handler_t::strict);
  } catch (const ojson::exception& e) {
    fail("{}: cannot write tokenizer.json (an added token is not valid UTF-8): {}", m.name, e.what());
  }
}

void Tokenizer::save_tokenizer_json(const std::string& path) const {
  write_file_atomic(path, to_tokenizer_json() + "\n");
}

}  // namespace baimo
