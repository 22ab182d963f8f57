#include "baimo/train/pretrain_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const std::vector<PretrainKey>& pretrain_keys() {
  static const std::vector<PretrainKey> keys = {
      {"config", KeyKind::Str, "", "Model config.json (not needed with --init or --resume)"},
      {"data", KeyKind::Str, "", "Token shard directory (index.json; train and optional val split)"},
      {"out", KeyKind::Str, "", "Run directory: checkpoints/, metrics.jsonl, run_config.json, final/"},
      {"init", KeyKind::Str, "", "Start from this model directory instead of random weights"},
      {"resume", KeyKind::Bool, false, "Continue from the newest checkpoint in --out (fresh start if none)"},
      {"resume_from", KeyKind::Str, "", "Continue from this checkpoint directory (OUT/checkpoints/step_N); later ones are removed"},
      {"steps", KeyKind::Int, 1000, "Optimizer steps"},
      {"batch", KeyKind::Int, 8, "Sequences per micro-batch (global, over all ranks)"},
      {"seq", KeyKind::Int, 256, "Tokens per sequence"},
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
      {"eval_batches", KeyKind::Int, 8, "Batches per evaluation"},
      {"checkpoint_interval", KeyKind::Int, 100, "Steps between checkpoints (0 = only at the start and the end)"},
      {"keep", KeyKind::Int, 3, "Checkpoints kept (0 = all)"},
      {"seed", KeyKind::Int, 0, "Seed of the initial weights and the data order"},
      {"threads", KeyKind::Int, 0, "CPU threads (0 = all); bit-identical resume needs the same count"},
      {"time_budget", KeyKind::Num, 0.0, "Stop after this many seconds (0 = no limit)"},
      {"peak_gflops", KeyKind::Num, 0.0, "Peak f32 GFLOP/s for MFU (0 = measure with a short sgemm run)"},
      {"spike_factor", KeyKind::Num, 4.0, "Skip the update when loss > this x its running mean (0 = off)"},
      {"spike_patience", KeyKind::Int, 3, "Consecutive skipped updates that roll back to the last checkpoint (0 = never)"},
      {"spike_warmup", KeyKind::Int, 20, "Accepted steps before the spike test applies"},
      {"spike_ema", KeyKind::Num, 0.98, "Decay of the loss running mean"},
      {"max_rollbacks", KeyKind::Int, 10, "Give up (error) after this many rollbacks"},
      {"debug_poison_windows", KeyKind::Str, "", "Test hook A:B: windows A..B-1 of the data stream get their loss scaled"},
      {"debug_poison_scale", KeyKind::Num, 1.0, "Test hook: the scale (nan allowed)"},
  };
  return keys;
}

std::string flag_name(const PretrainKey& k) {
  std::string f = std::string("--") + k.name;
  for (char& c : f) if (c == '_') c = '-';
  return f;
}

json pretrain_defaults() {
  json j = json::object();
  for (const auto& k : pretrain_keys()) j[k.name] = k.default_value;
  return j;
}

namespace {

const PretrainKey* find_key(const std::string& name) {
  for (const auto& k : pretrain_keys())
    if (name == k.name) return &k;
  return nullptr;
}

bool kind_matches(const json& v, KeyKind kind) {
  switch (kind) {
    case KeyKind::Int: return v.is_number_integer();
    case KeyKind::Num: return v.is_number();
    case KeyKind::Str: return v.is_string();
    case KeyKind::Bool: return v.is_boolean();
  }
  return false;
}

const char* kind_name(KeyKind kind) {
  switch (kind) {
    case KeyKind::Int: return "an integer";
    case KeyKind::Num: return "a number";
    case KeyKind::Str: return "a string";
    case KeyKind::Bool: return "true or false";
  }
  return "?";
}

}  // namespace

void apply_run_config(json& into, const json& file, const std::string& where) {
  if (!file.is_object()) fail("{}: expected a JSON object of settings", where);
  for (const auto& [key, value] : file.items()) {
    const PretrainKey* k = find_key(key);
    if (!k) fail("{}: unknown key \"{}\"", where, key);
    if (!kind_matches(value, k->kind) && !(value.is_null() && k->default_value.is_null()))
      fail("{}: key \"{}\" must be {}", where, key, kind_name(k->kind));
    into[key] = value;
  }
}

void apply_flag(json& into, const PretrainKey& key, const std::string& text) {
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
    }
  } catch (const std::exception&) {
  }
  fail("{}: \"{}\" is not {}", flag, text, kind_name(key.kind));
}

json absolute_paths(const json& merged) {
  json out = merged;
  for (const char* key : {"config", "data", "out", "init", "resume_from"})
    if (out.contains(key) && out[key].is_string() && !out[key].get<std::string>().empty())
      out[key] = std::filesystem::absolute(out[key].get<std::string>()).lexically_normal().string();
  return out;
}

PretrainConfig parse_pretrain_config(const json& m, const std::string& where) {
  auto i64 = [&](const char* k) { return m.at(k).get<int64_t>(); };
  auto f32 = [&](const char* k) { return static_cast<float>(m.at(k).get<double>()); };
  auto str = [&](const char* k) { return m.at(k).get<std::string>(); };
  auto positive = [&](const char* k) {
    if (i64(k) < 1) fail("{}: \"{}\" must be at least 1, got {}", where, k, i64(k));
    return i64(k);
  };
  auto non_negative = [&](const char* k) {
    if (i64(k) < 0) fail("{}: \"{}\" must not be negative, got {}", where, k, i64(k));
    return i64(k);
  };
  PretrainConfig c;
  c.merged = m;
  c.config = str("config");
  c.data = str("data");
  c.out = str("out");
  c.init = str("init");
  c.resume = m.at("resume").get<bool>();
  c.resume_from = str("resume_from");
  if (!c.resume_from.empty()) c.resume = true;
  c.threads = static_cast<int>(non_negative("threads"));
  if (c.data.empty()) fail("{}: \"data\" (--data DIR) is required", where);
  if (c.out.empty()) fail("{}: \"out\" (--out DIR) is required", where);

  LmTrainOptions& o = c.train;
  o.steps = positive("steps");
  o.batch = positive("batch");
  o.seq = positive("seq");
  o.grad_accum = positive("grad_accum");
  o.lr = f32("lr");
  o.min_lr = f32("min_lr");
  if (!(o.lr > 0)) fail("{}: \"lr\" must be positive, got {}", where, o.lr);
  if (!(o.min_lr >= 0 && o.min_lr <= o.lr)) fail("{}: \"min_lr\" {} must be within [0, lr = {}]", where, o.min_lr, o.lr);
  // warmup: a default adapts to short runs; only a value someone chose can conflict with "steps".
  if (m.at("warmup").is_null()) {
    o.warmup = std::min<int64_t>(100, o.steps / 10);
    c.merged["warmup"] = o.warmup;  // saved resolved: a resume with other steps keeps the schedule
  } else {
    o.warmup = non_negative("warmup");
  }
  if (o.warmup > o.steps) fail("{}: \"warmup\" {} exceeds \"steps\" {}", where, o.warmup, o.steps);
  std::string schedule = str("schedule");
  if (schedule == "cosine") o.schedule = Schedule::Cosine;
  else if (schedule == "wsd") o.schedule = Schedule::Wsd;
  else fail("{}: \"schedule\" must be \"cosine\" or \"wsd\", got \"{}\"", where, schedule);
  o.decay_fraction = f32("decay_fraction");
  if (!(o.decay_fraction >= 0 && o.decay_fraction <= 1)) fail("{}: \"decay_fraction\" must be within [0, 1]", where);
  if (o.schedule == Schedule::Wsd && o.warmup + std::llround(o.decay_fraction * o.steps) > o.steps)
    fail("{}: wsd needs warmup ({}) + decay_fraction x steps ({}) <= steps ({})", where, o.warmup,
         std::llround(o.decay_fraction * o.steps), o.steps);
  o.weight_decay = f32("weight_decay");
  o.beta1 = f32("beta1");
  o.beta2 = f32("beta2");
  if (!(o.weight_decay >= 0)) fail("{}: \"weight_decay\" must not be negative", where);
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    fail("{}: \"beta1\" and \"beta2\" must be within [0, 1)", where);
  o.clip = f32("clip");
  if (!(o.clip >= 0)) fail("{}: \"clip\" must not be negative", where);
  o.eval_interval = non_negative("eval_interval");
  o.eval_batches = positive("eval_batches");
  o.checkpoint_interval = non_negative("checkpoint_interval");
  o.keep = non_negative("keep");
  o.seed = static_cast<uint64_t>(non_negative("seed"));
  o.time_budget_s = m.at("time_budget").get<double>();
  if (!(o.time_budget_s >= 0)) fail("{}: \"time_budget\" must not be negative", where);
  o.peak_gflops = m.at("peak_gflops").get<double>();
  if (!(o.peak_gflops >= 0)) fail("{}: \"peak_gflops\" must not be negative", where);
  o.spike.factor = f32("spike_factor");
  if (!(o.spike.factor == 0 || o.spike.factor > 1))
    fail("{}: \"spike_factor\" must be 0 (off) or above 1, got {}", where, o.spike.factor);
  o.spike.patience = non_negative("spike_patience");
  o.spike.warmup = non_negative("spike_warmup");
  o.spike.ema = f32("spike_ema");
  if (!(o.spike.ema > 0 && o.spike.ema < 1)) fail("{}: \"spike_ema\" must be within (0, 1)", where);
  o.max_rollbacks = non_negative("max_rollbacks");
  std::string poison = str("debug_poison_windows");
  if (!poison.empty()) {
    size_t colon = poison.find(':');
    try {
      size_t u1 = 0, u2 = 0;
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      o.poison_begin = std::stoull(poison.substr(0, colon), &u1);
      o.poison_end = std::stoull(poison.substr(colon + 1), &u2);
      if (u1 != colon || u2 != poison.size() - colon - 1 || o.poison_end <= o.poison_begin)
        throw std::invalid_argument("range");
    } catch (const std::exception&) {
      fail("{}: \"debug_poison_windows\" must be A:B with A < B, got \"{}\"", where, poison);
    }
  }
  o.poison_scale = static_cast<float>(m.at("debug_poison_scale").get<double>());
  o.out_dir = c.out;
  o.run_config = c.merged;
  return c;
}

}  // namespace baimo::train
