#include "baimo/train/run_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {

const RunKey* find_key(const RunKeys& keys, const std::string& name) {
  for (const auto& k : keys)
    if (name == k.name) return &k;
  return nullptr;
}

bool kind_matches(const json& v, KeyKind kind) {
  switch (kind) {
    case KeyKind::Int: return v.is_number_integer();
    case KeyKind::Num: return v.is_number();
    case KeyKind::Str: return v.is_string();
    case KeyKind::Bool: return v.is_boolean();
    case KeyKind::List:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
  }
  return false;
}

const char* kind_name(KeyKind kind) {
  switch (kind) {
    case KeyKind::Int: return "an integer";
    case KeyKind::Num: return "a number";
    case KeyKind::Str: return "a string";
    case KeyKind::Bool: return "true or false";
    case KeyKind::List: return "a list of strings";
  }
  return "?";
}

}  // namespace

std::string flag_name(const RunKey& k) {
  std::string f = std::string("--") + k.name;
  for (char& c : f)
    if (c == '_') c = '-';
  return f;
}

json run_defaults(const RunKeys& keys) {
  json j = json::object();
  for (const auto& k : keys) j[k.name] = k.default_value;
  return j;
}

void apply_run_config(json& into, const json& file, const RunKeys& keys, const std::string& where) {
  if (!file.is_object()) fail("{}: expected a JSON object of settings", where);
  for (const auto& [key, value] : file.items()) {
    const RunKey* k = find_key(keys, key);
    if (!k) fail("{}: unknown key \"{}\"", where, key);
    if (!kind_matches(value, k->kind) && !(value.is_null() && k->default_value.is_null()))
      fail("{}: key \"{}\" must be {}", where, key, kind_name(k->kind));
    into[key] = value;
  }
}

void apply_flag(json& into, const RunKey& key, const std::string& text) {
  const std::string flag = flag_name(key);
  size_t used = 0;
  try {
    switch (key.kind) {
      case KeyKind::Int: {
        long long v = std::stoll(text, &used);
        if (used == text.size()) return void(into[key.name] = v);
        break;
      }
      case KeyKind::Num: {
        if (text == "nan") return void(into[key.name] = std::numeric_limits<double>::quiet_NaN());
        double v = std::stod(text, &used);
        if (used == text.size()) return void(into[key.name] = v);
        break;
      }
      case KeyKind::Str: return void(into[key.name] = text);
      case KeyKind::Bool:
        if (text == "true" || text == "1") return void(into[key.name] = true);
        if (text == "false" || text == "0") return void(into[key.name] = false);
        break;
      case KeyKind::List: return void(into[key.name] = json::array({text}));
    }
  } catch (const std::exception&) {
  }
  fail("{}: \"{}\" is not {}", flag, text, kind_name(key.kind));
}

void apply_flag(json& into, const RunKey& key, const std::vector<std::string>& values) {
  if (key.kind != KeyKind::List) {
    if (values.size() != 1) fail("{} takes one value, got {}", flag_name(key), values.size());
    return apply_flag(into, key, values[0]);
  }
  into[key.name] = values;
}

json absolute_paths(const json& merged, const std::vector<std::string>& path_keys) {
  json out = merged;
  for (const std::string& key : path_keys) {
    if (!out.contains(key)) continue;
    json& v = out[key];
    auto absolute = [](const std::string& p) {
      return std::filesystem::absolute(p).lexically_normal().string();
    };
    if (v.is_string() && !v.get<std::string>().empty()) v = absolute(v.get<std::string>());
    if (v.is_array())
      for (json& e : v)
        if (e.is_string() && !e.get<std::string>().empty()) e = absolute(e.get<std::string>());
  }
  return out;
}

RunKeys trainer_keys(const json& overrides) {
  RunKeys keys = {
      {"out", KeyKind::Str, "", "Run directory: checkpoints/, metrics.jsonl, run_config.json, final/"},
      {"resume", KeyKind::Bool, false, "Continue from the newest checkpoint in --out (fresh start if none)"},
      {"resume_from", KeyKind::Str, "", "Continue from this checkpoint directory (OUT/checkpoints/step_N); later ones are removed"},
      {"steps", KeyKind::Int, 1000, "Optimizer steps"},
      {"grad_accum", KeyKind::Int, 1, "Micro-batches per step"},
      {"lr", KeyKind::Num, 3e-4, "Peak learning rate"},
      {"min_lr", KeyKind::Num, 3e-5, "Final learning rate"},
      {"warmup", KeyKind::Int, nullptr, "Linear warmup steps (default min(100, steps/10))"},
      {"schedule", KeyKind::Str, "cosine", "cosine | wsd (warmup-stable-decay)"},
      {"decay_fraction", KeyKind::Num, 0.2, "wsd: share of the steps spent decaying"},
      {"weight_decay", KeyKind::Num, 0.1, "AdamW decoupled weight decay (matrices only)"},
      {"beta1", KeyKind::Num, 0.9, "AdamW beta1"},
      {"beta2", KeyKind::Num, 0.95, "AdamW beta2"},
      {"clip", KeyKind::Num, 1.0, "Global gradient-norm clip (0 = off)"},
      {"eval_interval", KeyKind::Int, 100, "Steps between validation evaluations (0 = only at the end)"},
      {"checkpoint_interval", KeyKind::Int, 100, "Steps between checkpoints (0 = only at the start and the end)"},
      {"keep", KeyKind::Int, 3, "Checkpoints kept (0 = all)"},
      {"seed", KeyKind::Int, 0, "Seed of the initial weights and the data order"},
      {"threads", KeyKind::Int, 0, "CPU threads (0 = all); bit-identical resume needs the same count"},
      {"time_budget", KeyKind::Num, 0.0, "Stop after this many seconds (0 = no limit)"},
      {"peak_gflops", KeyKind::Num, 0.0, "Peak f32 GFLOP/s for MFU (0 = measure with a short sgemm run)"},
      {"spike_factor", KeyKind::Num, 4.0, "Skip the update when loss > this x its running mean and 6 running std above it (0 = off)"},
      {"spike_patience", KeyKind::Int, 3, "Consecutive skipped updates that roll back to the last checkpoint (0 = never)"},
      {"spike_warmup", KeyKind::Int, 20, "Accepted steps before the spike test applies"},
      {"spike_ema", KeyKind::Num, 0.98, "Decay of the loss running mean"},
      {"max_rollbacks", KeyKind::Int, 10, "Give up (error) after this many rollbacks"},
      {"grad_checkpoint", KeyKind::Bool, false,
       "Activation checkpointing: keep only each block's input, recompute the block in backward (less memory, "
       "one more forward; same losses)"},
  };
  for (const auto& item : overrides.items()) {
    const std::string name = item.key();  // a plain variable: clang 14 cannot capture structured bindings
    auto it = std::find_if(keys.begin(), keys.end(), [&](const RunKey& k) { return name == k.name; });
    if (it == keys.end()) fail("internal: trainer key override \"{}\" names no key", name);
    it->default_value = item.value();
  }
  return keys;
}

int64_t SettingsReader::i64(const char* k) const { return m.at(k).get<int64_t>(); }
int64_t SettingsReader::positive(const char* k) const {
  if (i64(k) < 1) fail("{}: \"{}\" must be at least 1, got {}", where, k, i64(k));
  return i64(k);
}
int64_t SettingsReader::non_negative(const char* k) const {
  if (i64(k) < 0) fail("{}: \"{}\" must not be negative, got {}", where, k, i64(k));
  return i64(k);
}
float SettingsReader::f32(const char* k) const { return static_cast<float>(m.at(k).get<double>()); }
double SettingsReader::f64(const char* k) const { return m.at(k).get<double>(); }
std::string SettingsReader::str(const char* k) const { return m.at(k).get<std::string>(); }
bool SettingsReader::flag(const char* k) const { return m.at(k).get<bool>(); }
std::vector<std::string> SettingsReader::list(const char* k) const { return m.at(k).get<std::vector<std::string>>(); }

TrainerSettings parse_trainer_settings(json& m, const std::string& where) {
  const SettingsReader r{m, where};
  TrainerSettings s;
  TrainerOptions& o = s.trainer;
  o.out_dir = r.str("out");
  if (o.out_dir.empty()) fail("{}: \"out\" (--out DIR) is required", where);
  s.resume = r.flag("resume");
  s.resume_from = r.str("resume_from");
  if (!s.resume_from.empty()) s.resume = true;
  s.threads = static_cast<int>(r.non_negative("threads"));
  s.grad_checkpoint = r.flag("grad_checkpoint");
  s.seed = static_cast<uint64_t>(r.non_negative("seed"));
  o.steps = r.positive("steps");
  o.grad_accum = r.positive("grad_accum");
  o.lr = r.f32("lr");
  o.min_lr = r.f32("min_lr");
  if (!(o.lr > 0)) fail("{}: \"lr\" must be positive, got {}", where, o.lr);
  if (!(o.min_lr >= 0 && o.min_lr <= o.lr)) fail("{}: \"min_lr\" {} must be within [0, lr = {}]", where, o.min_lr, o.lr);
  // warmup: a default adapts to short runs; only a value someone chose can conflict with "steps".
  if (m.at("warmup").is_null()) {
    o.warmup = std::min<int64_t>(100, o.steps / 10);
    m["warmup"] = o.warmup;  // saved resolved: a resume with other steps keeps the schedule
  } else {
    o.warmup = r.non_negative("warmup");
  }
  if (o.warmup > o.steps) fail("{}: \"warmup\" {} exceeds \"steps\" {}", where, o.warmup, o.steps);
  const std::string schedule = r.str("schedule");
  if (schedule == "cosine") o.schedule = Schedule::Cosine;
  else if (schedule == "wsd") o.schedule = Schedule::Wsd;
  else fail("{}: \"schedule\" must be \"cosine\" or \"wsd\", got \"{}\"", where, schedule);
  o.decay_fraction = r.f32("decay_fraction");
  if (!(o.decay_fraction >= 0 && o.decay_fraction <= 1)) fail("{}: \"decay_fraction\" must be within [0, 1]", where);
  if (o.schedule == Schedule::Wsd && o.warmup + std::llround(o.decay_fraction * o.steps) > o.steps)
    fail("{}: wsd needs warmup ({}) + decay_fraction x steps ({}) <= steps ({})", where, o.warmup,
         std::llround(o.decay_fraction * o.steps), o.steps);
  o.weight_decay = r.f32("weight_decay");
  o.beta1 = r.f32("beta1");
  o.beta2 = r.f32("beta2");
  if (!(o.weight_decay >= 0)) fail("{}: \"weight_decay\" must not be negative", where);
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    fail("{}: \"beta1\" and \"beta2\" must be within [0, 1)", where);
  o.clip = r.f32("clip");
  if (!(o.clip >= 0)) fail("{}: \"clip\" must not be negative", where);
  o.eval_interval = r.non_negative("eval_interval");
  o.checkpoint_interval = r.non_negative("checkpoint_interval");
  o.keep = r.non_negative("keep");
  o.time_budget_s = r.f64("time_budget");
  if (!(o.time_budget_s >= 0)) fail("{}: \"time_budget\" must not be negative", where);
  o.peak_gflops = r.f64("peak_gflops");
  if (!(o.peak_gflops >= 0)) fail("{}: \"peak_gflops\" must not be negative", where);
  o.spike.factor = r.f32("spike_factor");
  if (!(o.spike.factor == 0 || o.spike.factor > 1))
    fail("{}: \"spike_factor\" must be 0 (off) or above 1, got {}", where, o.spike.factor);
  o.spike.patience = r.non_negative("spike_patience");
  o.spike.warmup = r.non_negative("spike_warmup");
  o.spike.ema = r.f32("spike_ema");
  if (!(o.spike.ema > 0 && o.spike.ema < 1)) fail("{}: \"spike_ema\" must be within (0, 1)", where);
  o.max_rollbacks = r.non_negative("max_rollbacks");
  o.run_config = m;
  return s;
}

}  // namespace baimo::train
