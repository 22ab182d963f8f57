#include "baimo/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "baimo/io/mapped_pages.h"
#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kOptFormat = "baimo-adamw-v1";

// Test hook: BAIMO_TEST_CHECKPOINT_DELAY_MS sleeps between the files of a checkpoint.
void test_delay() {
  static const long ms = [] {
    const char* e = std::getenv("BAIMO_TEST_CHECKPOINT_DELAY_MS");
    return e ? std::strtol(e, nullptr, 10) : 0L;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// "step_0000123" -> 123; nullopt for anything else.
std::optional<int64_t> parse_step_name(const std::string& name) {
  if (!name.starts_with("step_") || name.size() <= 5 || name.size() > 5 + 18) return std::nullopt;
  int64_t v = 0;
  for (char c : name.substr(5)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Parameter name of each optimizer slot (AdamW group order), matched by the parameter's node.
std::vector<std::string> optimizer_param_names(const CheckpointModule& m) {
  std::unordered_map<const ag::VarNode*, std::string> names;
  for (const auto& [name, var] : m.params) names[var.node()] = name;
  std::vector<std::string> out;
  for (const auto& g : m.optimizer->groups())
    for (const auto& v : g.params) {
      auto it = names.find(v.node());
      if (it == names.end())
        fail("checkpoint: an optimizer parameter is not a parameter of module \"{}\"", m.name);
      out.push_back(it->second);
    }
  return out;
}

std::vector<int64_t> dims(const Shape& s) { return std::vector<int64_t>(s.d, s.d + s.n); }

}  // namespace

std::string checkpoint_name(int64_t step) { return fmt::format("step_{:07d}", step); }

std::optional<int64_t> checkpoint_step(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "step_0000012/"
  return parse_step_name(p.filename().string());
}

CheckpointModule transformer_module(std::string name, const Transformer& model, train::AdamW* opt,
                                    const ModelDirSave& model_opts) {
  CheckpointModule m;
  m.name = std::move(name);
  for (const auto& p : model.params()) m.params.emplace_back(p.spec.name, p.var);
  m.optimizer = opt;
  const Transformer* t = &model;
  m.save_dir = [t, model_opts](const std::string& dir) { t->save(dir, model_opts); };
  m.load_dir = [t](const std::string& dir) {
    const std::string config_path = (fs::path(dir) / "config.json").string();
    if (!fs::exists(config_path)) fail("{}: missing (not a checkpoint directory?)", config_path);
    ModelConfig cfg = load_model_dir_config(dir);
    if (model_config_to_json(cfg) != model_config_to_json(t->config()))
      fail("{}: the checkpoint's model config differs from this run's model", config_path);
    // Weights: straight into the model's parameters (shapes and completeness checked by the loader).
    std::unordered_map<std::string, float*> dest;
    for (const auto& p : t->params()) dest[p.spec.name] = p.var.node()->value.data<float>();
    read_model_dir_tensors(dir, cfg, [&](const ParamSpec& spec) {
      return std::span<float>(dest.at(spec.name), static_cast<size_t>(spec.numel()));
    });
  };
  return m;
}

namespace {

fs::path module_dir(const fs::path& checkpoint, const std::vector<CheckpointModule>::size_type index,
                    const std::string& name) {
  return index == 0 ? checkpoint : checkpoint / "modules" / name;
}

void check_module_names(std::span<const CheckpointModule> modules) {
  if (modules.empty()) fail("checkpoint: no modules");
  for (size_t i = 0; i < modules.size(); ++i) {
    const std::string& n = modules[i].name;
    if (n.empty() || n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      fail("checkpoint: module name \"{}\" must be lower-case letters, digits, '_' or '-'", n);
    for (size_t j = 0; j < i; ++j)
      if (modules[j].name == n) fail("checkpoint: module name \"{}\" given twice", n);
  }
}

void save_module(const CheckpointModule& m, const fs::path& dir) {
  fs::create_directories(dir);
  test_delay();
  if (m.save_dir) {
    m.save_dir(dir.string());  // every file written atomically (fsynced)
  } else {
    std::vector<SafetensorWrite> weights;
    for (const auto& [name, var] : m.params) {
      const Tensor& t = var.value();
      weights.push_back({name, dims(t.shape()), {t.data<float>(), static_cast<size_t>(t.numel())}});
    }
    save_safetensors((dir / "model.safetensors").string(), weights, DType::F32, {{"format", "baimo-module-v1"}});
  }
  if (!m.optimizer) return;
  test_delay();
  const train::AdamW& opt = *m.optimizer;
  std::vector<std::string> names = optimizer_param_names(m);
  std::vector<SafetensorWrite> moments;
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& mo = opt.exp_avg(i);
    const Tensor& v = opt.exp_avg_sq(i);
    moments.push_back({"exp_avg/" + names[i], dims(mo.shape()), {mo.data<float>(), static_cast<size_t>(mo.numel())}});
    moments.push_back({"exp_avg_sq/" + names[i], dims(v.shape()), {v.data<float>(), static_cast<size_t>(v.numel())}});
  }
  save_safetensors((dir / "optimizer.safetensors").string(), moments, DType::F32,
                   {{"format", kOptFormat}, {"step", std::to_string(opt.steps())}});
  fsync_dir(dir.string());
}

}  // namespace

std::string save_checkpoint(const std::string& run_dir, int64_t step, std::span<const CheckpointModule> modules,
                            const json& trainer_state) {
  check_module_names(modules);
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root);
  const fs::path final_dir = root / checkpoint_name(step);
  const fs::path tmp = root / fmt::format(".tmp_{}.{}", checkpoint_name(step), ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);

  json names = json::array();
  for (size_t i = 0; i < modules.size(); ++i) {
    save_module(modules[i], module_dir(tmp, i, modules[i].name));
    names.push_back(modules[i].name);
  }
  if (modules.size() > 1) fsync_dir((tmp / "modules").string());

  test_delay();
  json state = trainer_state;
  state["step"] = step;
  state["modules"] = names;
  write_file_atomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
  fsync_dir(tmp.string());

  test_delay();
  // A re-save of the same step: move the old one aside first (a kill now loses only that step).
  const fs::path old = root / fmt::format(".tmp_old_{}.{}", checkpoint_name(step), ::getpid());
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  fsync_dir(root.string());
  fs::remove_all(old);
  return final_dir.string();
}

std::string save_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model,
                            const train::AdamW& opt, const json& trainer_state, const ModelDirSave& model_opts) {
  // The optimizer is only read while saving.
  CheckpointModule m = transformer_module("model", model, const_cast<train::AdamW*>(&opt), model_opts);
  return save_checkpoint(run_dir, step, std::span<const CheckpointModule>(&m, 1), trainer_state);
}

std::vector<CheckpointRef> list_checkpoints(const std::string& run_dir) {
  std::vector<CheckpointRef> out;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::directory_iterator(root)) {
    if (!e.is_directory()) continue;
    if (auto step = parse_step_name(e.path().filename().string())) out.push_back({*step, e.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointRef> latest_checkpoint(const std::string& run_dir) {
  auto all = list_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

void clean_checkpoint_temps(const std::string& run_dir) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(root)) return;
  std::vector<fs::path> junk;
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().filename().string().starts_with(".tmp_")) junk.push_back(e.path());
  for (const auto& p : junk) fs::remove_all(p);
}

namespace {
// Renamed out of the step_* namespace first, so a kill mid-removal never leaves a partial step_ dir.
void remove_oldest(const std::string& run_dir, size_t keep) {
  auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + keep < all.size(); ++i) {
    fs::path doomed = fs::path(all[i].path).parent_path() / (".tmp_pruned_" + fs::path(all[i].path).filename().string());
    fs::rename(all[i].path, doomed);
    fs::remove_all(doomed);
  }
}
}  // namespace

void prune_checkpoints(const std::string& run_dir, int64_t keep) {
  if (keep > 0) remove_oldest(run_dir, static_cast<size_t>(keep));
}

void clear_checkpoints(const std::string& run_dir) { remove_oldest(run_dir, 0); }

void remove_checkpoints_after(const std::string& run_dir, int64_t step) {
  for (const auto& c : list_checkpoints(run_dir)) {
    if (c.step <= step) continue;
    fs::path doomed = fs::path(c.path).parent_path() / (".tmp_pruned_" + fs::path(c.path).filename().string());
    fs::rename(c.path, doomed);
    fs::remove_all(doomed);
  }
}

namespace {

int64_t parse_opt_step(const std::string& opt_path, const std::string& text) {
  int64_t opt_step = -1;
  try {
    size_t used = 0;
    opt_step = std::stoll(text, &used);
    if (used != text.size()) opt_step = -1;
  } catch (const std::exception&) {
  }
  if (opt_step < 0) fail("{}: metadata \"step\" (\"{}\") is not a non-negative integer", opt_path, text);
  return opt_step;
}

void load_module(const CheckpointModule& m, const fs::path& dir) {
  if (m.load_dir) {
    m.load_dir(dir.string());
  } else {
    const std::string path = (dir / "model.safetensors").string();
    if (!fs::exists(path)) fail("{}: missing (module \"{}\")", path, m.name);
    SafetensorsFile f(path);
    if (f->tensors().size() != m.params.size())
      fail("{}: {} tensors, expected the {} parameters of module \"{}\"", path, f->tensors().size(), m.params.size(),
           m.name);
    for (const auto& [name, var] : m.params) {
      Tensor& t = var.node()->value;
      f->read_f32_checked(name, dims(t.shape()), {t.data<float>(), static_cast<size_t>(t.numel())});
      drop_mapped_pages(f->get(name).bytes.data(), f->get(name).bytes.size());  // copied: io/mapped_pages.h
    }
  }
  if (!m.optimizer) return;
  train::AdamW& opt = *m.optimizer;
  const std::string opt_path = (dir / "optimizer.safetensors").string();
  if (!fs::exists(opt_path)) fail("{}: missing", opt_path);
  SafetensorsFile f(opt_path);
  auto meta = f->metadata();
  if (meta["format"] != kOptFormat)
    fail("{}: metadata \"format\" is \"{}\", expected \"{}\"", opt_path, meta["format"], kOptFormat);
  const int64_t opt_step = parse_opt_step(opt_path, meta["step"]);
  std::vector<std::string> names = optimizer_param_names(m);
  if (f->tensors().size() != 2 * names.size())
    fail("{}: {} tensors, expected {} (exp_avg and exp_avg_sq of {} parameters)", opt_path, f->tensors().size(),
         2 * names.size(), names.size());
  // Each tensor's pages of the mapping leave once copied (io/mapped_pages.h): the state of a full
  // fine-tune is twice the model, and its file should not stay resident beside it.
  auto read = [&](const std::string& name, Tensor& t) {
    f->read_f32_checked(name, dims(t.shape()), {t.data<float>(), static_cast<size_t>(t.numel())});
    drop_mapped_pages(f->get(name).bytes.data(), f->get(name).bytes.size());
  };
  for (size_t i = 0; i < names.size(); ++i) {
    read("exp_avg/" + names[i], opt.exp_avg(i));
    read("exp_avg_sq/" + names[i], opt.exp_avg_sq(i));
  }
  opt.set_steps(opt_step);
}

}  // namespace

json load_checkpoint(const std::string& dir, std::span<const CheckpointModule> modules) {
  check_module_names(modules);
  // Trainer state first: its module list says whether the files match these modules.
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  if (!fs::exists(state_path)) {
    if (!fs::exists(fs::path(dir) / "config.json") && !fs::exists(fs::path(dir) / "model.safetensors"))
      fail("{}: missing (not a checkpoint directory?)", (fs::path(dir) / "config.json").string());
    fail("{}: missing", state_path);
  }
  json state;
  try {
    state = json::parse(read_file(state_path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", state_path, e.what());
  }
  if (!state.is_object()) fail("{}: expected a JSON object", state_path);
  if (!state.contains("step") || !state["step"].is_number_integer())
    fail("{}: field \"step\" missing or not an integer", state_path);
  if (auto expected = checkpoint_step(dir); expected && state["step"].get<int64_t>() != *expected)
    fail("{}: field \"step\" is {} but the directory is {}", state_path, state["step"].get<int64_t>(),
         fs::path(dir).filename().string());
  if (state.contains("modules")) {
    json want = json::array();
    for (const auto& m : modules) want.push_back(m.name);
    if (state["modules"] != want)
      fail("{}: field \"modules\" is {}, this run has {}", state_path, state["modules"].dump(), want.dump());
  }
  for (size_t i = 0; i < modules.size(); ++i) load_module(modules[i], module_dir(dir, i, modules[i].name));
  return state;
}

json load_checkpoint(const std::string& dir, Transformer& model, train::AdamW& opt) {
  CheckpointModule m = transformer_module("model", model, &opt);
  return load_checkpoint(dir, std::span<const CheckpointModule>(&m, 1));
}

}  // namespace baimo
