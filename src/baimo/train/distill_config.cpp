#include "baimo/train/distill_config.h"

#include <cmath>
#include <cstring>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& distill_keys() {
  static const RunKeys keys = [] {
    RunKeys k = sft_keys();
    for (RunKey& key : k) {
      if (std::strcmp(key.name, "model") == 0) {
        key.name = "student";
        key.help = "The student to train: a model directory or GGUF file (e.g. made by `baimo init`)";
      } else if (std::strcmp(key.name, "data") == 0) {
        key.help = "Chat data files (OpenAI messages JSONL, Alpaca, ShareGPT: answers only), or one token-shard "
                   "directory (`baimo data prepare`: every next token)";
      } else if (std::strcmp(key.name, "lr") == 0) {
        key.default_value = 5e-4;
      }
    }
    RunKeys own = {
        {"teacher", KeyKind::Str, "", "The teacher: a model directory or GGUF file (quantized allowed), same tokenizer"},
        {"loss", KeyKind::Str, "forward_kl", "forward_kl | reverse_kl | jsd (generalised JSD, TRL GKD's convention)"},
        {"temperature", KeyKind::Num, 1.0, "Softmax temperature of both models (the KLs are scaled by T^2)"},
        {"beta", KeyKind::Num, 0.5, "JSD's beta: beta KL(p_t || m) + (1 - beta) KL(p_s || m), m = beta p_t + (1 - beta) p_s"},
        {"ce_weight", KeyKind::Num, 0.0, "Weight of the student's plain next-token cross-entropy added to the loss"},
        {"on_policy", KeyKind::Num, 0.0, "Share of micro-batches whose answers the student samples itself, scored by "
                                         "the teacher (GKD's lambda; chat data only)"},
        {"on_policy_temperature", KeyKind::Num, 1.0, "Sampling temperature of the on-policy answers"},
        {"on_policy_max_new_tokens", KeyKind::Int, 128, "Tokens per on-policy answer at most"},
        {"teacher_cache", KeyKind::Str, "", "File of the teacher's top-k log-probs at every answer position (chat data, "
                                            "forward_kl, one temperature): built with the teacher when missing, then "
                                            "training reads it and never runs the teacher"},
        {"teacher_top_k", KeyKind::Int, 64, "Tokens per position in --teacher-cache (the rest of the teacher's mass is "
                                            "kept as one bucket)"},
    };
    k.insert(k.begin() + 1, std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
    return k;
  }();
  return keys;
}

const std::vector<std::string>& distill_path_keys() {
  static const std::vector<std::string> keys{"student", "teacher", "data", "eval_data", "out", "resume_from",
                                             "teacher_cache"};
  return keys;
}

DistillConfig parse_distill_config(const json& merged, const std::string& where) {
  json m = merged;
  if (!m.contains("student") || !m["student"].is_string() || m["student"].get<std::string>().empty())
    fail("{}: \"student\" (--student DIR or FILE.gguf) is required", where);
  m["model"] = m["student"];
  m.erase("student");
  DistillConfig c;
  static_cast<SftConfig&>(c) = parse_sft_config(m, where);
  c.merged["student"] = c.merged["model"];
  c.merged.erase("model");
  c.settings.trainer.run_config = c.merged;
  const SettingsReader r{c.merged, where};
  if (c.lora) fail("{}: \"lora\": distillation trains a full student (LoRA is not supported here)", where);
  c.teacher = r.str("teacher");
  if (c.teacher.empty()) fail("{}: \"teacher\" (--teacher DIR or FILE.gguf) is required", where);
  ag::DistillLossOptions& l = c.distill.loss;
  l.divergence = parse_divergence(r.str("loss"), where);
  l.temperature = r.f32("temperature");
  if (!(l.temperature > 0) || !std::isfinite(l.temperature))
    fail("{}: \"temperature\" must be > 0, got {}", where, l.temperature);
  l.beta = r.f32("beta");
  if (!(l.beta >= 0 && l.beta <= 1)) fail("{}: \"beta\" must be within [0, 1], got {}", where, l.beta);
  l.ce_weight = r.f32("ce_weight");
  if (!(l.ce_weight >= 0) || !std::isfinite(l.ce_weight))
    fail("{}: \"ce_weight\" must be >= 0, got {}", where, l.ce_weight);
  c.distill.teacher = c.teacher;
  c.distill.on_policy = r.f32("on_policy");
  if (!(c.distill.on_policy >= 0 && c.distill.on_policy <= 1))
    fail("{}: \"on_policy\" must be within [0, 1], got {}", where, c.distill.on_policy);
  c.distill.rollout.temperature = r.f32("on_policy_temperature");
  if (!(c.distill.rollout.temperature >= 0) || !std::isfinite(c.distill.rollout.temperature))
    fail("{}: \"on_policy_temperature\" must be >= 0 (0 = greedy), got {}", where, c.distill.rollout.temperature);
  const int64_t max_new = r.i64("on_policy_max_new_tokens");
  if (max_new < 1 || max_new > 1 << 20) fail("{}: \"on_policy_max_new_tokens\" must be >= 1, got {}", where, max_new);
  c.distill.rollout.max_new_tokens = static_cast<int>(max_new);
  c.teacher_cache = r.str("teacher_cache");
  c.teacher_top_k = r.i64("teacher_top_k");
  if (c.teacher_top_k < 1 || c.teacher_top_k > 1 << 20)
    fail("{}: \"teacher_top_k\" must be >= 1, got {}", where, c.teacher_top_k);
  if (!c.teacher_cache.empty()) {
    if (c.distill.on_policy > 0)
      fail("{}: \"teacher_cache\" with \"on_policy\" {}: on-policy batches are the student's own new answers, which "
           "no cache of the teacher holds; drop one of them", where, c.distill.on_policy);
    if (l.divergence != ag::Divergence::ForwardKl)
      fail("{}: \"teacher_cache\" keeps the teacher's top-{} tokens only, and \"loss\" {} needs its whole "
           "distribution: use forward_kl with a cache", where, c.teacher_top_k, divergence_name(l.divergence));
  }
  return c;
}

}  // namespace baimo::train
