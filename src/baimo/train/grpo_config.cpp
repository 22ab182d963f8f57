#include "baimo/train/grpo_config.h"

#include <cmath>
#include <string_view>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& grpo_keys() {
  static const RunKeys keys = [] {
    RunKeys k = finetune_keys(
        "Prompt files: {prompt|messages, answer?} JSON/JSONL (also preference pairs or chat data: their prompts); "
        ".gz read directly",
        "Prompts per rollout batch (global, over all ranks); each gets --group samples",
        json{{"steps", nullptr},
             {"lr", nullptr},
             {"min_lr", nullptr},
             {"weight_decay", 0.0},
             {"beta2", 0.999},
             {"eval_interval", 20},
             {"checkpoint_interval", 50},
             {"keep", 2}});
    RunKeys own = {
        {"group", KeyKind::Int, 8, "Samples per prompt (advantages are relative to the group; >= 2)"},
        {"iterations", KeyKind::Int, 1, "Optimisation steps per rollout batch (TRL num_iterations)"},
        {"beta", KeyKind::Num, 0.04, "Weight of the k3 KL to the reference (0: no reference model)"},
        {"epsilon", KeyKind::Num, 0.2, "Clip range of the ratio, below (and above unless --epsilon-high)"},
        {"epsilon_high", KeyKind::Num, nullptr, "Upper clip range (DAPO's clip-higher); default --epsilon"},
        {"loss_norm", KeyKind::Str, "grpo", "Loss normalisation: grpo | dapo (tokens of the batch) | dr_grpo"},
        {"scale_rewards", KeyKind::Bool, true, "Divide advantages by the group's reward std (off: Dr. GRPO)"},
    };
    for (RunKey& key : k)
      if (std::string_view(key.name) == "epochs") key.default_value = 1.0;  // passes over the prompts
    RunKeys rollout = rl_rollout_keys(json::array({"match"}));
    own.insert(own.begin() + 2, std::make_move_iterator(rollout.begin()), std::make_move_iterator(rollout.end()));
    k.insert(k.begin() + 5, std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
    return k;
  }();
  return keys;
}

GrpoConfig parse_grpo_config(const json& merged, const std::string& where) {
  GrpoConfig c;
  parse_finetune_config(c, merged, where, 1e-6, 1e-5);
  parse_rl_rollout_config(c, where);
  const SettingsReader r{c.merged, where};
  c.group = r.positive("group");
  if (c.group < 2) fail("{}: \"group\" must be at least 2 (advantages are relative to the group), got {}", where, c.group);
  c.iterations = r.positive("iterations");
  c.loss.beta = r.f32("beta");
  if (!(c.loss.beta >= 0)) fail("{}: \"beta\" must be >= 0, got {}", where, c.loss.beta);
  c.loss.clip.eps_low = r.f32("epsilon");
  c.loss.clip.eps_high = c.merged.at("epsilon_high").is_null() ? c.loss.clip.eps_low : r.f32("epsilon_high");
  if (!(c.loss.clip.eps_low > 0 && c.loss.clip.eps_low < 1))
    fail("{}: \"epsilon\" must be within (0, 1), got {}", where, c.loss.clip.eps_low);
  if (!(c.loss.clip.eps_high > 0)) fail("{}: \"epsilon_high\" must be positive, got {}", where, c.loss.clip.eps_high);
  try {
    c.loss.norm = parse_loss_norm(r.str("loss_norm"));
  } catch (const Error& e) {
    fail("{}: \"loss_norm\": {}", where, e.what());
  }
  c.scale_rewards = r.flag("scale_rewards");
  return c;
}

void resolve_grpo_steps(GrpoConfig& c, int64_t train_prompts) {
  if (!c.merged.at("steps").is_null()) return;
  const double batches = std::ceil(c.epochs * static_cast<double>(train_prompts) / static_cast<double>(c.batch));
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(batches) * c.iterations);
  c.merged["steps"] = steps;
  TrainerOptions& o = c.settings.trainer;
  o.steps = steps;
  if (c.merged.at("warmup").is_null()) {
    o.warmup = std::min<int64_t>(100, steps / 10);
    c.merged["warmup"] = o.warmup;
  }
  o.run_config = c.merged;
}

}  // namespace baimo::train
