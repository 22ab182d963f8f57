#include "baimo/train/pretrain_config.h"

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& pretrain_keys() {
  static const RunKeys keys = [] {
    RunKeys k = {
        {"config", KeyKind::Str, "", "Model config.json (not needed with --init or --resume)"},
        {"data", KeyKind::Str, "", "Token shard directory (index.json; train and optional val split)"},
        {"init", KeyKind::Str, "", "Start from this model directory instead of random weights"},
        {"batch", KeyKind::Int, 8, "Sequences per micro-batch (global, over all ranks)"},
        {"seq", KeyKind::Int, 256, "Tokens per sequence"},
        {"eval_batches", KeyKind::Int, 8, "Batches per evaluation"},
        {"debug_poison_windows", KeyKind::Str, "", "Test hook A:B: windows A..B-1 of the data stream get their loss scaled"},
        {"debug_poison_scale", KeyKind::Num, 1.0, "Test hook: the scale (nan allowed)"},
    };
    for (RunKey& t : trainer_keys()) k.push_back(std::move(t));
    return k;
  }();
  return keys;
}

const std::vector<std::string>& pretrain_path_keys() {
  static const std::vector<std::string> keys{"config", "data", "out", "init", "resume_from"};
  return keys;
}

PretrainConfig parse_pretrain_config(const json& merged, const std::string& where) {
  PretrainConfig c;
  c.merged = merged;
  TrainerSettings t = parse_trainer_settings(c.merged, where);
  const SettingsReader r{c.merged, where};
  c.config = r.str("config");
  c.data = r.str("data");
  c.out = t.trainer.out_dir;
  c.init = r.str("init");
  c.resume = t.resume;
  c.resume_from = t.resume_from;
  c.threads = t.threads;
  c.grad_checkpoint = t.grad_checkpoint;
  if (c.data.empty()) fail("{}: \"data\" (--data DIR) is required", where);

  LmTrainOptions& o = c.train;
  static_cast<TrainerOptions&>(o) = t.trainer;
  o.seed = t.seed;
  o.batch = r.positive("batch");
  o.seq = r.positive("seq");
  o.eval_batches = r.positive("eval_batches");
  std::string poison = r.str("debug_poison_windows");
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
  o.poison_scale = static_cast<float>(c.merged.at("debug_poison_scale").get<double>());
  o.run_config = c.merged;
  return c;
}

}  // namespace baimo::train
