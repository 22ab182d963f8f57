#include "baimo/convert/peft_adapter.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fmt/ranges.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/staged_dir.h"

namespace baimo {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string join_path(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

const char* json_type(const json& v) { return v.type_name(); }

// A field that must be absent, null, false or empty for baimo to apply the adapter faithfully.
bool is_unset(const json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_array() || v.is_object() || v.is_string()) return v.empty();
  return false;
}

std::vector<ParamRole> parse_targets(const json& v, const std::string& where) {
  std::string csv;
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s != "all-linear" &&
        (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; })))
      fail("{}: field \"target_modules\" = \"{}\" is a regular expression; baimo needs the module names as a list "
           "(q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)",
           where, s);
    csv = s;
  } else if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_string()) fail("{}: field \"target_modules\" must list strings, got a {}", where, json_type(e));
      // PEFT matches a name against the module path's suffix: "self_attn.q_proj" means q_proj.
      std::string name = e.get<std::string>();
      const size_t dot = name.rfind('.');
      if (dot != std::string::npos) name = name.substr(dot + 1);
      if (name.find(',') != std::string::npos) fail("{}: target_modules entry \"{}\" is not a module name", where, name);
      csv += (csv.empty() ? "" : ",") + name;
    }
    if (csv.empty()) fail("{}: field \"target_modules\" is empty", where);
  } else {
    fail("{}: field \"target_modules\" must be a list of module names, got {}", where, json_type(v));
  }
  try {
    return parse_lora_targets(csv);
  } catch (const Error& e) {
    fail("{}: field \"target_modules\": {}", where, e.what());
  }
}

// trainable_token_indices: a list of ids (the input embedding) or {"embed_tokens": [ids]}; another
// module (a second embedding) is refused.
std::vector<int32_t> parse_token_indices(const json& v, const std::string& where) {
  const json* list = &v;
  if (v.is_object()) {
    if (v.size() != 1 || (v.begin().key() != "embed_tokens" && v.begin().key() != "model.embed_tokens"))
      fail("{}: field \"trainable_token_indices\" = {}: baimo trains token rows of embed_tokens only (a list of ids, "
           "or {{\"embed_tokens\": [ids]}})",
           where, v.dump(-1, ' ', false, json::error_handler_t::replace));
    list = &v.begin().value();
  }
  if (!list->is_array()) fail("{}: field \"trainable_token_indices\" must be a list of token ids, got {}", where, json_type(*list));
  std::vector<int32_t> ids;
  for (const json& e : *list) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > INT32_MAX)
      fail("{}: field \"trainable_token_indices\" entry {} is not a token id", where,
           e.dump(-1, ' ', false, json::error_handler_t::replace));
    ids.push_back(static_cast<int32_t>(e.get<int64_t>()));
  }
  return ids;
}

constexpr int64_t kMaxRank = 65536;  // far above any real adapter; keeps a bad file from allocating terabytes

// A JSON number as a float, refusing what a float cannot hold.
float to_float(double v, const char* key, const std::string& where) {
  if (!std::isfinite(v) || std::fabs(v) > 1e30) fail("{}: field \"{}\" = {} is out of range", where, key, v);
  return static_cast<float>(v);
}

}  // namespace

LoraConfig read_peft_adapter_config(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a directory (a PEFT adapter is a directory with {} and {})", dir,
                                   kPeftConfigFile, kPeftWeightsFile);
  const std::string where = join_path(dir, kPeftConfigFile);
  if (!fs::exists(where)) fail("{}: missing (not a PEFT adapter directory)", where);
  return parse_peft_adapter_config(read_file(where), where);
}

LoraConfig parse_peft_adapter_config(std::string_view text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", where, e.what());
  }
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", where, json_type(j));
  auto field = [&](const char* key) -> const json* {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  const json* pt = field("peft_type");
  if (!pt || !pt->is_string()) fail("{}: field \"peft_type\" must be the string \"LORA\"", where);
  if (pt->get<std::string>() != "LORA")
    fail("{}: peft_type is \"{}\"; baimo reads LoRA adapters only (peft_type \"LORA\")", where, pt->get<std::string>());
  if (const json* t = field("task_type"); t && !t->is_null()) {
    if (!t->is_string()) fail("{}: field \"task_type\" must be a string, got {}", where, json_type(*t));
    if (t->get<std::string>() != "CAUSAL_LM")
      fail("{}: task_type is \"{}\"; baimo applies CAUSAL_LM adapters", where, t->get<std::string>());
  }
  for (const char* key : {"fan_in_fan_out", "use_dora", "modules_to_save", "layers_to_transform", "layers_pattern",
                          "rank_pattern", "alpha_pattern", "lora_bias", "layer_replication", "target_parameters",
                          "use_qalora"})
    if (const json* v = field(key); v && !is_unset(*v))
      fail("{}: option \"{}\" = {} is not supported by baimo (it must be absent, null, false or empty)", where, key,
           v->dump(-1, ' ', false, json::error_handler_t::replace));
  if (const json* b = field("bias"); b && !b->is_null() && !(b->is_string() && b->get<std::string>() == "none"))
    fail("{}: option \"bias\" = {} is not supported by baimo (only \"none\")", where,
         b->dump(-1, ' ', false, json::error_handler_t::replace));

  LoraConfig lc;
  const json* r = field("r");
  if (!r || !r->is_number_integer()) fail("{}: field \"r\" must be an integer", where);
  lc.r = r->get<int64_t>();
  if (r->is_number_unsigned() && r->get<uint64_t>() > static_cast<uint64_t>(kMaxRank)) lc.r = kMaxRank + 1;
  if (lc.r > kMaxRank) fail("{}: field \"r\" = {} is larger than baimo's limit {}", where, r->dump(), kMaxRank);
  const json* alpha = field("lora_alpha");
  if (!alpha || !alpha->is_number()) fail("{}: field \"lora_alpha\" must be a number", where);
  lc.alpha = to_float(alpha->get<double>(), "lora_alpha", where);
  if (const json* d = field("lora_dropout"); d && !d->is_null()) {
    if (!d->is_number()) fail("{}: field \"lora_dropout\" must be a number, got {}", where, json_type(*d));
    lc.dropout = to_float(d->get<double>(), "lora_dropout", where);
  } else {
    lc.dropout = 0.0f;
  }
  if (const json* rs = field("use_rslora"); rs && !rs->is_null()) {
    if (!rs->is_boolean()) fail("{}: field \"use_rslora\" must be true or false, got {}", where, json_type(*rs));
    lc.rslora = rs->get<bool>();
  } else {
    lc.rslora = false;
  }
  const json* tm = field("target_modules");
  if (!tm) fail("{}: field \"target_modules\" is missing", where);
  lc.targets = parse_targets(*tm, where);
  if (const json* tt = field("trainable_token_indices"); tt && !is_unset(*tt)) lc.trainable_tokens = parse_token_indices(*tt, where);
  lc.validate(where);
  return lc;
}

LoraAdapter load_peft_adapter(const std::string& dir, const ModelConfig& base) {
  const LoraConfig lc = read_peft_adapter_config(dir);
  const std::string wpath = join_path(dir, kPeftWeightsFile);
  if (!fs::exists(wpath)) {
    if (fs::exists(join_path(dir, "adapter_model.bin")))
      fail("{}: missing; adapter_model.bin (a pickle) is not read: save the adapter with safe_serialization=True",
           wpath);
    fail("{}: missing (the adapter's weights)", wpath);
  }
  SafetensorsFile file(wpath);
  const SafetensorsView& v = file.view();
  // Every tensor is located and checked against the header first, so that nothing is allocated
  // for a file that does not fit (a huge r, another base).
  std::set<std::string> used;
  auto locate = [&](const std::string& name, std::vector<int64_t> want) -> const SafetensorInfo* {
    std::string found = name;
    if (!v.contains(found)) {
      // An unsaved state_dict keeps the adapter name: ...lora_A.default.weight,
      // ...trainable_tokens_delta.default.
      const size_t w = name.rfind(".weight");
      const std::string alt = w == std::string::npos ? name + ".default" : name.substr(0, w) + ".default.weight";
      if (v.contains(alt)) found = alt;
    }
    const SafetensorInfo* t = v.find(found);
    if (!t)
      fail("{}: tensor {} is missing (r = {}, target_modules of {}, base with {} layers)", wpath, name, lc.r,
           kPeftConfigFile, base.num_hidden_layers);
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      fail("{}: tensor {} has dtype {}; expected F32, F16 or BF16", wpath, found, dtype_info(t->dtype).name);
    if (t->shape != want)
      fail("{}: tensor {} has shape [{}], expected [{}] (r = {} from {}, the base model's matrix shape)", wpath, found,
           fmt::join(t->shape, ", "), fmt::join(want, ", "), lc.r, kPeftConfigFile);
    used.insert(found);
    return t;
  };
  std::vector<std::pair<const SafetensorInfo*, const SafetensorInfo*>> located;
  for (const LoraSpec& s : lora_layout(base, lc)) {
    const SafetensorInfo* a = locate(s.a_name, {lc.r, s.in});  // A first: errors in layout order
    located.emplace_back(a, locate(s.b_name, {s.out, lc.r}));
  }
  const SafetensorInfo* rows = nullptr;
  if (!lc.trainable_tokens.empty()) {
    for (int32_t id : lc.trainable_tokens)
      if (id >= base.vocab_size)
        fail("{}: trainable_token_indices holds {}, outside the base model's vocabulary of {}", join_path(dir, kPeftConfigFile),
             id, base.vocab_size);
    rows = locate(kTokenRowsName, {static_cast<int64_t>(lc.trainable_tokens.size()), base.hidden_size});
  }
  for (const SafetensorInfo& t : v.tensors())
    if (!used.count(t.name))
      fail("{}: unexpected tensor {}: not a LoRA A/B of target_modules {} for a base model with {} layers "
           "(a different base model, or weights baimo does not apply)",
           wpath, t.name, kPeftConfigFile, base.num_hidden_layers);
  LoraAdapter ad = LoraAdapter::zeros(base, lc);
  for (size_t i = 0; i < ad.pairs.size(); ++i) {
    const LoraAdapter::Pair& p = ad.pairs[i];
    v.read_f32(*located[i].first, std::span<float>(p.a.value().data<float>(), static_cast<size_t>(p.a.numel())));
    v.read_f32(*located[i].second, std::span<float>(p.b.value().data<float>(), static_cast<size_t>(p.b.numel())));
  }
  if (rows)
    v.read_f32(*rows, std::span<float>(ad.token_rows.value().data<float>(), static_cast<size_t>(ad.token_rows.numel())));
  return ad;
}

void write_peft_adapter_files(const std::string& dir, const LoraAdapter& adapter,
                              const std::string& base_model_name_or_path, DType dtype) {
  const LoraConfig& lc = adapter.config;
  lc.validate("save_peft_adapter");
  json targets = json::array();
  for (ParamRole r : lc.targets) targets.push_back(lora_target_module(r));
  // The fields of PEFT's LoraConfig as save_pretrained writes them (defaults for what baimo has no notion of).
  json j = {
      {"alpha_pattern", json::object()},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", base_model_name_or_path},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", json::object()},
      {"lora_alpha", lc.alpha},
      {"lora_bias", false},
      {"lora_dropout", lc.dropout},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", lc.r},
      {"rank_pattern", json::object()},
      {"revision", nullptr},
      {"target_modules", targets},
      {"task_type", "CAUSAL_LM"},
      {"use_dora", false},
      {"use_rslora", lc.rslora},
  };
  // PEFT's LoRA with trainable tokens: the ids of embed_tokens (the tied head follows them).
  if (!lc.trainable_tokens.empty()) j["trainable_token_indices"] = lc.trainable_tokens;
  // Integral alpha is written as an integer, as PEFT users write it (lora_alpha=16).
  if (lc.alpha == static_cast<float>(static_cast<int64_t>(lc.alpha))) j["lora_alpha"] = static_cast<int64_t>(lc.alpha);
  std::vector<SafetensorWrite> tensors;
  for (const LoraAdapter::Pair& p : adapter.pairs) {
    const Tensor& a = p.a.value();
    const Tensor& b = p.b.value();
    tensors.push_back({p.spec.a_name, {a.shape()[0], a.shape()[1]}, {a.data<float>(), static_cast<size_t>(a.numel())}});
    tensors.push_back({p.spec.b_name, {b.shape()[0], b.shape()[1]}, {b.data<float>(), static_cast<size_t>(b.numel())}});
  }
  if (adapter.token_rows.defined()) {
    const Tensor& t = adapter.token_rows.value();
    tensors.push_back({kTokenRowsName, {t.shape()[0], t.shape()[1]}, {t.data<float>(), static_cast<size_t>(t.numel())}});
  }
  write_file_atomic(join_path(dir, kPeftConfigFile), j.dump(2) + "\n");
  save_safetensors(join_path(dir, kPeftWeightsFile), tensors, dtype, {{"format", "pt"}});
}

void save_peft_adapter(const std::string& dir, const LoraAdapter& adapter, const std::string& base_model_name_or_path,
                       DType dtype) {
  StagedDir staged(dir);
  write_peft_adapter_files(staged.path(), adapter, base_model_name_or_path, dtype);
  staged.commit();
}

}  // namespace baimo
