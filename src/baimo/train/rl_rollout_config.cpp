#include "baimo/train/rl_rollout_config.h"

#include <cmath>
#include <string_view>

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

RunKeys rl_command_keys(const char* data_help, const char* batch_help, RunKeys own, size_t own_first,
                        const json& default_reward) {
  RunKeys k = finetune_keys(data_help, batch_help,
                            json{{"steps", nullptr},
                                 {"lr", nullptr},
                                 {"min_lr", nullptr},
                                 {"weight_decay", 0.0},
                                 {"beta2", 0.999},
                                 {"eval_interval", 20},
                                 {"checkpoint_interval", 50},
                                 {"keep", 2}});
  for (RunKey& key : k)
    if (std::string_view(key.name) == "epochs") key.default_value = 1.0;  // passes over the prompts
  RunKeys rollout = rl_rollout_keys(default_reward);
  own.insert(own.begin() + static_cast<ptrdiff_t>(own_first), std::make_move_iterator(rollout.begin()),
             std::make_move_iterator(rollout.end()));
  k.insert(k.begin() + 5, std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
  return k;
}

void resolve_rl_steps(RlRolloutConfig& c, int64_t train_prompts, int64_t steps_per_batch) {
  if (!c.merged.at("steps").is_null()) return;
  const double batches = std::ceil(c.epochs * static_cast<double>(train_prompts) / static_cast<double>(c.batch));
  set_resolved_steps(c, static_cast<int64_t>(batches) * steps_per_batch);
}

}  // namespace baimo::train
