#include "baimo/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unordered_map>

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
std::vector<std::string> optimizer_param_names(const Transformer& model, const train::AdamW& opt) {
  std::unordered_map<const ag::VarNode*, std::string> names;
  for (const auto& p : model.params()) names[p.var.node()] = p.spec.name;
  std::vector<std::string> out;
  for (const auto& g : opt.groups())
    for (const auto& v : g.params) {
      auto it = names.find(v.node());
      if (it == names.end()) fail("checkpoint: an optimizer parameter is not a parameter of the model");
      out.push_back(it->second);
    }
  return out;
}

std::vector<int64_t> dims(const Shape& s) { return std::vector<int64_t>(s.d, s.d + s.n); }

}  // namespace

std::string checkpoint_name(int64_t step) { return fmt::format("step_{:07d}", step); }

std::string save_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model,
                            const train::AdamW& opt, const json& trainer_state, const ModelDirSave& model_opts) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root);
  const fs::path final_dir = root / checkpoint_name(step);
  const fs::path tmp = root / fmt::format(".tmp_{}.{}", checkpoint_name(step), ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);

  test_delay();
  model.save(tmp.string(), model_opts);  // every file written atomically (fsynced)

  test_delay();
  std::vector<std::string> names = optimizer_param_names(model, opt);
  std::vector<SafetensorWrite> moments;
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& m = opt.exp_avg(i);
    const Tensor& v = opt.exp_avg_sq(i);
    moments.push_back({"exp_avg/" + names[i], dims(m.shape()), {m.data<float>(), static_cast<size_t>(m.numel())}});
    moments.push_back({"exp_avg_sq/" + names[i], dims(v.shape()), {v.data<float>(), static_cast<size_t>(v.numel())}});
  }
  save_safetensors((tmp / "optimizer.safetensors").string(), moments, DType::F32,
                   {{"format", kOptFormat}, {"step", std::to_string(opt.steps())}});

  test_delay();
  json state = trainer_state;
  state["step"] = step;
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

json load_checkpoint(const std::string& dir, Transformer& model, train::AdamW& opt) {
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) fail("{}: missing (not a checkpoint directory?)", config_path);
  ModelConfig cfg = load_model_dir_config(dir);
  if (model_config_to_json(cfg) != model_config_to_json(model.config()))
    fail("{}: the checkpoint's model config differs from this run's model", config_path);

  // Weights: straight into the model's parameters (shapes and completeness checked by the loader).
  std::unordered_map<std::string, float*> dest;
  for (const auto& p : model.params()) dest[p.spec.name] = p.var.value().data<float>();
  read_model_dir_tensors(dir, cfg, [&](const ParamSpec& spec) {
    return std::span<float>(dest.at(spec.name), static_cast<size_t>(spec.numel()));
  });

  // Optimizer moments and step.
  const std::string opt_path = (fs::path(dir) / "optimizer.safetensors").string();
  if (!fs::exists(opt_path)) fail("{}: missing", opt_path);
  SafetensorsFile f(opt_path);
  auto meta = f->metadata();
  if (meta["format"] != kOptFormat)
    fail("{}: metadata \"format\" is \"{}\", expected \"{}\"", opt_path, meta["format"], kOptFormat);
  int64_t opt_step = -1;
  try {
    size_t used = 0;
    opt_step = std::stoll(meta["step"], &used);
    if (used != meta["step"].size()) opt_step = -1;
  } catch (const std::exception&) {
  }
  if (opt_step < 0) fail("{}: metadata \"step\" (\"{}\") is not a non-negative integer", opt_path, meta["step"]);
  std::vector<std::string> names = optimizer_param_names(model, opt);
  if (f->tensors().size() != 2 * names.size())
    fail("{}: {} tensors, expected {} (exp_avg and exp_avg_sq of {} parameters)", opt_path, f->tensors().size(),
         2 * names.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    Tensor& m = opt.exp_avg(i);
    Tensor& v = opt.exp_avg_sq(i);
    f->read_f32_checked("exp_avg/" + names[i], dims(m.shape()), {m.data<float>(), static_cast<size_t>(m.numel())});
    f->read_f32_checked("exp_avg_sq/" + names[i], dims(v.shape()),
                        {v.data<float>(), static_cast<size_t>(v.numel())});
  }
  opt.set_steps(opt_step);

  // Trainer state.
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  if (!fs::exists(state_path)) fail("{}: missing", state_path);
  json state;
  try {
    state = json::parse(read_file(state_path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", state_path, e.what());
  }
  if (!state.is_object()) fail("{}: expected a JSON object", state_path);
  if (!state.contains("step") || !state["step"].is_number_integer())
    fail("{}: field \"step\" missing or not an integer", state_path);
  if (auto expected = parse_step_name(fs::path(dir).filename().string());
      expected && state["step"].get<int64_t>() != *expected)
    fail("{}: field \"step\" is {} but the directory is {}", state_path, state["step"].get<int64_t>(),
         fs::path(dir).filename().string());
  return state;
}

}  // namespace baimo
