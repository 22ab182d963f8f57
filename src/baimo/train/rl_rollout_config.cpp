#include "baimo/train/rl_rollout_config.h"

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

RunKeys rl_rollout_keys(const json& default_reward) {
  return {
      {"max_new_tokens", KeyKind::Int, 128, "Tokens per sampled answer at most"},
      {"temperature", KeyKind::Num, 1.0, "Sampling temperature of the rollouts"},
      {"top_p", KeyKind::Num, 1.0, "Nucleus sampling of the rollouts (1: off)"},
      {"top_k", KeyKind::Int, 0, "Top-k sampling of the rollouts (0: off)"},
      {"reward", KeyKind::List, default_reward,
       "Rewards, summed: match[:last_number|exact|regex:P|json:F] | regex:P | json | length:MAX | stop | "
       "model:DIR | command:CMD | url:URL, each optionally @WEIGHT"},
      {"reward_timeout", KeyKind::Num, 300.0, "Seconds a reward command or endpoint may take per batch"},
      {"eval_prompts", KeyKind::Int, 0, "Held-out prompts answered greedily at each evaluation (0: all)"},
      {"slots", KeyKind::Int, 16, "Sequences the rollout engine decodes at once"},
  };
}

void parse_rl_rollout_config(RlRolloutConfig& c, const std::string& where) {
  const SettingsReader r{c.merged, where};
  c.max_new_tokens = r.positive("max_new_tokens");
  if (c.max_new_tokens >= c.max_len)
    fail("{}: \"max_new_tokens\" {} must be below \"max_len\" {} (the prompt needs room)", where, c.max_new_tokens,
         c.max_len);
  c.temperature = r.f32("temperature");
  if (!(c.temperature > 0)) fail("{}: \"temperature\" must be positive, got {}", where, c.temperature);
  c.top_p = r.f32("top_p");
  if (!(c.top_p > 0 && c.top_p <= 1)) fail("{}: \"top_p\" must be within (0, 1], got {}", where, c.top_p);
  c.top_k = static_cast<int>(r.non_negative("top_k"));
  c.rewards = r.list("reward");
  if (c.rewards.empty()) fail("{}: \"reward\" needs at least one reward (e.g. --reward match)", where);
  c.reward_timeout_s = r.f64("reward_timeout");
  if (!(c.reward_timeout_s > 0)) fail("{}: \"reward_timeout\" must be positive, got {}", where, c.reward_timeout_s);
  c.eval_prompts = r.non_negative("eval_prompts");
  c.slots = r.positive("slots");
}

}  // namespace baimo::train
