#include "baimo/model/model_dir.h"

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "baimo/io/mapped_pages.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string join(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

// Tensors a checkpoint may carry that are not parameters.
bool ignorable(const std::string& name, const ModelConfig& cfg) {
  if (name.ends_with("rotary_emb.inv_freq")) return true;
  return cfg.tie_word_embeddings && name == "lm_head.weight";
}

// The weight files of a directory: model.safetensors, or the shards listed by the index.
std::vector<std::string> weight_files(const std::string& dir) {
  std::string single = join(dir, "model.safetensors");
  if (fs::exists(single)) return {single};
  std::string index = join(dir, "model.safetensors.index.json");
  if (!fs::exists(index)) fail("{}: no model.safetensors (nor model.safetensors.index.json)", dir);
  json j;
  try {
    j = json::parse(read_file(index));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 9e999
    fail("{}: not valid JSON: {}", index, e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail("{}: missing object field \"weight_map\"", index);
  std::set<std::string> shards;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) fail("{}: weight_map entry \"{}\" must be a file name", index, name);
    std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f.starts_with("."))
      fail("{}: weight_map entry \"{}\" names \"{}\", not a file in the directory", index, name, f);
    shards.insert(join(dir, f.c_str()));
  }
  return {shards.begin(), shards.end()};
}

}  // namespace

std::string model_dir_tokenizer(const std::string& dir) {
  std::string p = join(dir, "tokenizer.json");
  return fs::exists(p) ? p : "";
}

std::string model_dir_generation_config(const std::string& dir) {
  std::string p = join(dir, "generation_config.json");
  return fs::exists(p) ? p : "";
}

void save_model_dir(const std::string& dir, const ModelConfig& cfg, const std::vector<SafetensorWrite>& weights,
                    const ModelDirSave& opts) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) fail("cannot create model directory {}: {}", dir, ec.message());
  // Check the weights match the config before writing anything.
  auto layout = param_layout(cfg);
  std::map<std::string, const SafetensorWrite*> by_name;
  for (const auto& w : weights) by_name[w.name] = &w;
  for (const auto& s : layout) {
    auto it = by_name.find(s.name);
    if (it == by_name.end()) fail("saving {}: tensor \"{}\" is missing", dir, s.name);
    if (it->second->shape != s.shape) fail("saving {}: tensor \"{}\" has the wrong shape", dir, s.name);
  }
  if (weights.size() != layout.size()) fail("saving {}: {} tensors given, config needs {}", dir, weights.size(), layout.size());

  save_safetensors(join(dir, "model.safetensors"), weights, opts.dtype, {{"format", "pt"}});
  // model.safetensors now holds every weight: drop a stale shard index so the directory has one source.
  fs::remove(join(dir, "model.safetensors.index.json"), ec);
  ModelConfig out = cfg;
  out.torch_dtype = opts.dtype == DType::F32 ? "float32" : opts.dtype == DType::F16 ? "float16" : "bfloat16";
  save_model_config(out, join(dir, "config.json"));

  auto copy_in = [&](const std::string& src, const char* name) {
    std::string dst = join(dir, name);
    std::error_code same_ec;
    if (fs::equivalent(src, dst, same_ec)) return;
    write_file_atomic(dst, read_file(src));
  };
  if (!opts.tokenizer_json.empty()) {
    copy_in(opts.tokenizer_json, "tokenizer.json");
    // The tokenizer_config.json beside it is part of the tokenizer (Tokenizer::from_tokenizer_json_file
    // reads it): add_bos_token, bos/eos, the chat template. Without it a Llama-style model would
    // lose its BOS setting in every checkpoint and `baimo init` copy.
    const fs::path config = fs::path(opts.tokenizer_json).parent_path() / "tokenizer_config.json";
    std::error_code config_ec;
    if (fs::is_regular_file(config, config_ec)) copy_in(config.string(), "tokenizer_config.json");
  }
  if (!opts.generation_config_json.empty()) {
    copy_in(opts.generation_config_json, "generation_config.json");
  } else {
    json g = {{"_from_model_config", true}};
    if (cfg.bos_token_id) g["bos_token_id"] = *cfg.bos_token_id;
    if (cfg.eos_token_ids.size() == 1) g["eos_token_id"] = cfg.eos_token_ids[0];
    if (cfg.eos_token_ids.size() > 1) g["eos_token_id"] = cfg.eos_token_ids;
    write_file_atomic(join(dir, "generation_config.json"), g.dump(2) + "\n");
  }
}

std::map<std::string, std::vector<float>> read_model_dir_params(const std::string& dir, const ModelConfig& cfg) {
  std::map<std::string, std::vector<float>> params;
  read_model_dir_tensors(dir, cfg, [&](const ParamSpec& s) -> std::span<float> {
    auto& v = params[s.name];
    v.resize(static_cast<size_t>(s.numel()));
    return v;
  });
  return params;
}

// The storage dtype a config's torch_dtype names: F16 for "float16", BF16 for "bfloat16", else F32.
static DType torch_dtype_storage(const ModelConfig& cfg) {
  return cfg.torch_dtype == "bfloat16" ? DType::BF16 : cfg.torch_dtype == "float16" ? DType::F16 : DType::F32;
}

void save_derived_model_dir(const std::string& dir, const ModelConfig& cfg,
                            const std::map<std::string, std::vector<float>>& params, const std::string& source_dir) {
  std::vector<SafetensorWrite> writes;
  for (const ParamSpec& s : param_layout(cfg)) {
    auto it = params.find(s.name);
    if (it == params.end()) fail("saving {}: no tensor {}", dir, s.name);
    writes.push_back({s.name, s.shape, it->second});
  }
  ModelDirSave opts;
  opts.dtype = torch_dtype_storage(cfg);
  opts.tokenizer_json = model_dir_tokenizer(source_dir);
  opts.generation_config_json = model_dir_generation_config(source_dir);
  save_model_dir(dir, cfg, writes, opts);
}

ModelConfig load_model_dir_config(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a model directory", dir);
  return load_model_config(join(dir, "config.json"));
}

void read_model_dir_tensors(const std::string& dir, const ModelConfig& cfg,
                            const std::function<std::span<float>(const ParamSpec&)>& dest) {
  auto layout = param_layout(cfg);
  std::map<std::string, const ParamSpec*> wanted;
  for (const auto& s : layout) wanted[s.name] = &s;
  std::set<std::string> done;
  for (const std::string& path : weight_files(dir)) {
    SafetensorsFile f(path);
    for (const auto& t : f->tensors()) {
      auto it = wanted.find(t.name);
      if (it == wanted.end()) {
        if (ignorable(t.name, cfg)) continue;
        fail("{}: unexpected tensor \"{}\" for a {} model with this config", path, t.name, cfg.model_type);
      }
      if (!done.insert(t.name).second) fail("{}: tensor \"{}\" appears in two shards", path, t.name);
      f->read_f32_checked(t.name, it->second->shape, dest(*it->second));
      // Copied: its pages of the mapping leave this process now, so a load's peak is the destinations
      // plus one tensor's pages, not plus the whole file (io/mapped_pages.h).
      drop_mapped_pages(t.bytes.data(), t.bytes.size());
    }
  }
  for (const auto& s : layout)
    if (!done.count(s.name)) fail("{}: tensor \"{}\" is missing from the model's weights", dir, s.name);
}

std::string model_dir_chat_template(const std::string& dir) {
  const fs::path p = fs::path(dir) / "tokenizer_config.json";
  if (!fs::exists(p)) return "";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(p.string()));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", p.string(), e.what());
  }
  if (!j.is_object() || !j.contains("chat_template") || j["chat_template"].is_null()) return "";
  if (!j["chat_template"].is_string())
    fail("{}: field \"chat_template\" must be a string (named template lists are not supported)", p.string());
  return j["chat_template"].get<std::string>();
}

}  // namespace baimo
