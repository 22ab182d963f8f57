#include "baimo/train/grpo_config.h"

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& grpo_keys() {
  static const RunKeys keys = [] {
    RunKeys own = {
        {"group", KeyKind::Int, 8, "Samples per prompt (advantages are relative to the group; >= 2)"},
        {"iterations", KeyKind::Int, 1, "Optimisation steps per rollout batch (TRL num_iterations)"},
        {"beta", KeyKind::Num, 0.04, "Weight of the k3 KL to the reference (0: no reference model)"},
        {"epsilon", KeyKind::Num, 0.2, "Clip range of the ratio, below (and above unless --epsilon-high)"},
        {"epsilon_high", KeyKind::Num, nullptr, "Upper clip range (DAPO's clip-higher); default --epsilon"},
        {"loss_norm", KeyKind::Str, "grpo", "Loss normalisation: grpo | dapo (tokens of the batch) | dr_grpo"},
        {"scale_rewards", KeyKind::Bool, true, "Divide advantages by the group's reward std (off: Dr. GRPO)"},
    };
    return rl_command_keys(
        "Prompt files: {prompt|messages, answer?} JSON/JSONL (also preference pairs or chat data: their prompts); "
        ".gz read directly",
        "Prompts per rollout batch (global, over all ranks); each gets --group samples", std::move(own), 2,
        json::array({"match"}));
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

}  // namespace baimo::train
