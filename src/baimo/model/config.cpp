#include "baimo/model/config.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace {

using json = nlohmann::json;

// Sizes above this are a typo or an attack, and would overflow products of sizes.
constexpr int64_t kMaxSize = int64_t{1} << 31;

const char* type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  return v.type_name();
}

struct ConfigReader {
  const std::string& where;

  int64_t integer(const json& v, const std::string& key, int64_t lo, int64_t hi = kMaxSize) const {
    if (!v.is_number_integer()) fail("{}: field \"{}\" must be an integer, got {}", where, key, type_name(v));
    int64_t x;
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi)) fail("{}: field \"{}\" = {} is too large (max {})", where, key, u, hi);
      x = static_cast<int64_t>(u);
    } else {
      x = v.get<int64_t>();
    }
    if (x < lo || x > hi) fail("{}: field \"{}\" = {} is out of range [{}, {}]", where, key, x, lo, hi);
    return x;
  }
  double number(const json& v, const std::string& key) const {
    if (!v.is_number()) fail("{}: field \"{}\" must be a number, got {}", where, key, type_name(v));
    double x = v.get<double>();
    if (!std::isfinite(x)) fail("{}: field \"{}\" must be finite", where, key);
    return x;
  }
  double positive(const json& v, const std::string& key) const {
    double x = number(v, key);
    if (!(x > 0)) fail("{}: field \"{}\" = {} must be positive", where, key, x);
    return x;
  }
  bool boolean(const json& v, const std::string& key) const {
    if (!v.is_boolean()) fail("{}: field \"{}\" must be true or false, got {}", where, key, type_name(v));
    return v.get<bool>();
  }
  std::string string(const json& v, const std::string& key) const {
    if (!v.is_string()) fail("{}: field \"{}\" must be a string, got {}", where, key, type_name(v));
    return v.get<std::string>();
  }
};

// Hugging Face bookkeeping fields that do not change the model's math.
const std::set<std::string> kIgnoredFields = {
    "transformers_version", "use_cache", "_name_or_path", "output_attentions", "problem_type",
    "output_hidden_states", "return_dict", "torchscript", "tokenizer_class", "max_window_layers",
    "pretraining_tp",  // tensor-parallel slicing of the same math
};

}  // namespace

int64_t ModelConfig::parameter_count() const {
  int64_t attn = hidden_size * q_dim() + 2 * hidden_size * kv_dim() + q_dim() * hidden_size;
  if (qkv_bias) attn += q_dim() + 2 * kv_dim();
  if (o_bias) attn += hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size;
  int64_t block = attn + mlp + 2 * hidden_size;
  int64_t embed = vocab_size * hidden_size;
  if (is_reward_model()) return embed + num_hidden_layers * block + hidden_size + num_labels * hidden_size;
  return embed + num_hidden_layers * block + hidden_size + (tie_word_embeddings ? 0 : embed);
}

namespace {
std::string architecture_prefix(const std::string& model_type) {
  if (model_type == "qwen2") return "Qwen2";
  if (model_type == "mistral") return "Mistral";
  return "Llama";
}
constexpr std::string_view kSeqClsSuffix = "ForSequenceClassification";
}  // namespace

std::string ModelConfig::architecture() const {
  return architecture_prefix(model_type) + (is_reward_model() ? std::string(kSeqClsSuffix) : "ForCausalLM");
}

void require_causal_lm(const ModelConfig& c, const std::string& where) {
  if (c.is_reward_model())
    fail("{} is a reward model ({}): use baimo rm score or serve /v1/rewards", where, c.architecture());
}

void require_reward_model(const ModelConfig& c, const std::string& where) {
  if (!c.is_reward_model())
    fail("{} has no score head (causal LM, {}): train one with baimo rm train", where, c.architecture());
}

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0 || v > kMaxSize) fail("{}: field \"{}\" = {} must be in [1, {}]", where, key, v, kMaxSize);
  };
  if (model_type != "llama" && model_type != "qwen2" && model_type != "mistral")
    fail("{}: field \"model_type\" = \"{}\" is not supported (expected llama, qwen2 or mistral)", where, model_type);
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(max_position_embeddings, "max_position_embeddings");
  if (num_attention_heads % num_key_value_heads != 0)
    fail("{}: field \"num_key_value_heads\" = {} must divide num_attention_heads = {}", where, num_key_value_heads,
         num_attention_heads);
  if (head_dim % 2 != 0) fail("{}: field \"head_dim\" = {} must be even for rotary embeddings", where, head_dim);
  if (!(rope_theta > 0) || !std::isfinite(rope_theta))
    fail("{}: field \"rope_theta\" = {} must be positive", where, rope_theta);
  if (!(rms_norm_eps > 0) || !std::isfinite(rms_norm_eps))
    fail("{}: field \"rms_norm_eps\" = {} must be positive", where, rms_norm_eps);
  if (!(initializer_range > 0) || !std::isfinite(initializer_range))
    fail("{}: field \"initializer_range\" = {} must be positive", where, initializer_range);
  if (torch_dtype != "float32" && torch_dtype != "float16" && torch_dtype != "bfloat16")
    fail("{}: field \"torch_dtype\" = \"{}\" is not one of float32, float16, bfloat16", where, torch_dtype);
  if (model_type == "qwen2" && (!qkv_bias || o_bias))
    fail("{}: field \"attention_bias\": qwen2 models have q/k/v bias and no o_proj bias", where);
  if (model_type == "mistral" && (qkv_bias || o_bias))
    fail("{}: field \"attention_bias\": mistral models have no attention bias", where);
  // Products of sizes must stay far from int64 overflow.
  double params = static_cast<double>(vocab_size) * hidden_size * 2 +
                  static_cast<double>(num_hidden_layers) *
                      (static_cast<double>(hidden_size) * (2 * q_dim() + 2 * kv_dim() + 3 * intermediate_size));
  if (params > 1e12) fail("{}: model would have about {:.3g} parameters, more than baimo supports", where, params);
  auto check_token = [&](int64_t id, const char* key) {
    if (id < 0 || id >= vocab_size)
      fail("{}: field \"{}\" = {} is not a token id below vocab_size = {}", where, key, id, vocab_size);
  };
  if (bos_token_id) check_token(*bos_token_id, "bos_token_id");
  if (pad_token_id) check_token(*pad_token_id, "pad_token_id");
  if (is_reward_model() && num_labels != 1)
    fail("{}: field \"num_labels\" = {}: only a single-score head (num_labels 1, a reward model) is supported", where,
         num_labels);
  for (int64_t e : eos_token_ids) check_token(e, "eos_token_id");
}

ModelConfig parse_model_config(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: expected a JSON object at the top level, got {}", where, type_name(j));
  ConfigReader r{where};
  ModelConfig c;
  bool have_type = false, have_kv = false, have_head_dim = false;
  std::optional<bool> attention_bias;
  std::optional<bool> use_sliding_window;
  std::vector<std::string> architectures;
  std::optional<int64_t> num_labels;
  std::optional<json> id2label, label2id;
  std::optional<int64_t> sliding_window;
  std::string hidden_act = "silu";
  const char* required[] = {"vocab_size",          "hidden_size",          "intermediate_size",
                            "num_hidden_layers",   "num_attention_heads",  "max_position_embeddings"};
  for (const char* k : required)
    if (!j.contains(k)) fail("{}: missing required field \"{}\"", where, k);

  for (const auto& [key, v] : j.items()) {
    if (key == "model_type") {
      c.model_type = r.string(v, key);
      have_type = true;
    } else if (key == "architectures") {
      if (!v.is_array()) fail("{}: field \"architectures\" must be a list of strings", where);
      for (const auto& a : v) architectures.push_back(r.string(a, key));
    } else if (key == "vocab_size") {
      c.vocab_size = r.integer(v, key, 1);
    } else if (key == "hidden_size") {
      c.hidden_size = r.integer(v, key, 1);
    } else if (key == "intermediate_size") {
      c.intermediate_size = r.integer(v, key, 1);
    } else if (key == "num_hidden_layers") {
      c.num_hidden_layers = r.integer(v, key, 1);
    } else if (key == "num_attention_heads") {
      c.num_attention_heads = r.integer(v, key, 1);
    } else if (key == "num_key_value_heads") {
      if (!v.is_null()) {
        c.num_key_value_heads = r.integer(v, key, 1);
        have_kv = true;
      }
    } else if (key == "head_dim") {
      if (!v.is_null()) {
        c.head_dim = r.integer(v, key, 1);
        have_head_dim = true;
      }
    } else if (key == "max_position_embeddings") {
      c.max_position_embeddings = r.integer(v, key, 1);
    } else if (key == "rope_theta") {
      c.rope_theta = r.positive(v, key);
    } else if (key == "rms_norm_eps") {
      c.rms_norm_eps = r.positive(v, key);
    } else if (key == "initializer_range") {
      c.initializer_range = r.positive(v, key);
    } else if (key == "tie_word_embeddings") {
      c.tie_word_embeddings = r.boolean(v, key);
    } else if (key == "attention_bias") {
      attention_bias = r.boolean(v, key);
    } else if (key == "torch_dtype") {
      c.torch_dtype = r.string(v, key);
    } else if (key == "hidden_act") {
      hidden_act = r.string(v, key);
    } else if (key == "bos_token_id") {
      if (!v.is_null()) c.bos_token_id = r.integer(v, key, 0);
    } else if (key == "eos_token_id") {
      if (v.is_array()) {
        for (const auto& e : v) c.eos_token_ids.push_back(r.integer(e, key, 0));
      } else if (!v.is_null()) {
        c.eos_token_ids.push_back(r.integer(v, key, 0));
      }
    } else if (key == "pad_token_id") {
      // Old Llama conversions write -1 (no pad): an id outside the vocabulary is dropped (checked
      // below for a reward model, which needs a real one).
      if (!v.is_null()) c.pad_token_id = r.integer(v, key, std::numeric_limits<int32_t>::min());
    } else if (key == "num_labels") {
      num_labels = r.integer(v, key, 1);
    } else if (key == "id2label" || key == "label2id") {
      if (!v.is_object()) fail("{}: field \"{}\" must be an object", where, key);
      (key == "id2label" ? id2label : label2id) = v;
    } else if (key == "rope_scaling") {
      if (!v.is_null()) fail("{}: field \"rope_scaling\" is not supported (only null)", where);
    } else if (key == "sliding_window") {
      if (!v.is_null()) sliding_window = r.integer(v, key, 1, std::numeric_limits<int64_t>::max());
    } else if (key == "use_sliding_window") {
      use_sliding_window = r.boolean(v, key);
    } else if (key == "attention_dropout") {
      if (r.number(v, key) != 0.0) fail("{}: field \"attention_dropout\" must be 0 (dropout is not supported)", where);
    } else if (key == "mlp_bias") {
      if (r.boolean(v, key)) fail("{}: field \"mlp_bias\" = true is not supported", where);
    } else if (kIgnoredFields.count(key)) {
      // bookkeeping, no effect on the math
    } else {
      fail("{}: unknown field \"{}\"", where, key);
    }
  }
  if (!have_type) fail("{}: missing required field \"model_type\"", where);
  if (hidden_act != "silu") fail("{}: field \"hidden_act\" = \"{}\" is not supported (only silu)", where, hidden_act);
  if (!have_kv) c.num_key_value_heads = c.num_attention_heads;
  if (!have_head_dim) {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail("{}: field \"num_attention_heads\" = {} must divide hidden_size = {}", where, c.num_attention_heads,
           c.hidden_size);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  // Qwen2 configs carry sliding_window with use_sliding_window = false; Mistral's window is live
  // unless it covers the whole context.
  bool window_live = sliding_window && use_sliding_window.value_or(c.model_type == "mistral") &&
                     *sliding_window < c.max_position_embeddings;
  if (window_live) fail("{}: field \"sliding_window\": sliding-window attention is not supported", where);

  // The head, from the architectures list: *ForSequenceClassification is a reward model.
  for (const std::string& a : architectures) {
    if (!a.ends_with(kSeqClsSuffix)) continue;
    const std::string want = architecture_prefix(c.model_type) + std::string(kSeqClsSuffix);
    if (a != want)
      fail("{}: field \"architectures\" = \"{}\" does not match model_type {} (expected {})", where, a, c.model_type,
           want);
    c.head = ModelHead::SequenceClassification;
  }
  if (c.pad_token_id && !c.is_reward_model() && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
    c.pad_token_id.reset();
  if (c.is_reward_model()) {
    // transformers derives num_labels from id2label when it is not given.
    c.num_labels = num_labels.value_or(id2label ? static_cast<int64_t>(id2label->size()) : 1);
    if (id2label && static_cast<int64_t>(id2label->size()) != c.num_labels)
      fail("{}: field \"id2label\" has {} labels but num_labels = {}", where, id2label->size(), c.num_labels);
    if (label2id && static_cast<int64_t>(label2id->size()) != c.num_labels)
      fail("{}: field \"label2id\" has {} labels but num_labels = {}", where, label2id->size(), c.num_labels);
  }
  if (c.model_type == "qwen2") {
    if (attention_bias && !*attention_bias)
      fail("{}: field \"attention_bias\" = false contradicts model_type qwen2 (always q/k/v bias)", where);
    c.qkv_bias = true;
    c.o_bias = false;
  } else if (c.model_type == "mistral") {
    if (attention_bias && *attention_bias)
      fail("{}: field \"attention_bias\" = true contradicts model_type mistral (no bias)", where);
  } else {
    c.qkv_bias = c.o_bias = attention_bias.value_or(false);
  }
  c.validate(where);
  return c;
}

ModelConfig parse_model_config_text(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 9e999
    fail("{}: not valid JSON: {}", where, e.what());
  }
  return parse_model_config(j, where);
}

ModelConfig load_model_config(const std::string& path) { return parse_model_config_text(read_file(path), path); }

json model_config_to_json(const ModelConfig& c) {
  json j;
  j["architectures"] = json::array({c.architecture()});
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = nullptr;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["initializer_range"] = c.initializer_range;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.model_type != "mistral") j["attention_bias"] = c.qkv_bias;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (c.is_reward_model()) {
    j["num_labels"] = c.num_labels;
    json id2label = json::object(), label2id = json::object();
    for (int64_t i = 0; i < c.num_labels; ++i) {
      id2label[std::to_string(i)] = fmt::format("LABEL_{}", i);
      label2id[fmt::format("LABEL_{}", i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j;
}

void save_model_config(const ModelConfig& c, const std::string& path) {
  c.validate(path);
  write_file_atomic(path, model_config_to_json(c).dump(2) + "\n");
}

}  // namespace baimo
