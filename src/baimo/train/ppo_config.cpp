#include "baimo/train/ppo_config.h"

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& ppo_keys() {
  static const RunKeys keys = [] {
    RunKeys own = {
        {"samples", KeyKind::Int, 1, "Answers per prompt"},
        {"ppo_epochs", KeyKind::Int, 4, "Passes over each rollout batch (TRL num_ppo_epochs)"},
        {"mini_batches", KeyKind::Int, 1, "Optimiser steps per pass (TRL num_mini_batches)"},
        {"kl_coef", KeyKind::Num, 0.05, "Weight of the per-token KL penalty in the rewards (the start, with --target-kl)"},
        {"target_kl", KeyKind::Num, nullptr, "Adaptive KL coefficient aiming at this KL per answer (unset: fixed)"},
        {"kl_horizon", KeyKind::Num, 10000.0, "Horizon of the adaptive KL controller"},
        {"kl_estimator", KeyKind::Str, "k1", "Per-token KL estimate of the penalty: k1 | k2 | k3"},
        {"gamma", KeyKind::Num, 1.0, "Discount of GAE"},
        {"lam", KeyKind::Num, 0.95, "Lambda of GAE"},
        {"cliprange", KeyKind::Num, 0.2, "Clip range of the policy ratio"},
        {"cliprange_value", KeyKind::Num, 0.2, "Clip range of the value around the old value"},
        {"vf_coef", KeyKind::Num, 0.1, "Weight of the value loss"},
        {"missing_eos_penalty", KeyKind::Num, 0.0, "Subtracted from the score of answers that did not end their turn"},
        {"normalize_reward", KeyKind::Bool, false, "Normalise scores by their running mean and std"},
        {"whiten_advantages", KeyKind::Bool, true, "Whiten the advantages over the rollout batch"},
        {"value_init", KeyKind::Str, "policy", "Value model start: policy | reward (the model:DIR reward model)"},
    };
    return rl_command_keys(
        "Prompt files: {prompt|messages} JSON/JSONL (also preference pairs or chat data: their prompts); "
        ".gz read directly",
        "Prompts per rollout batch (global, over all ranks); each gets --samples answers", std::move(own), 3,
        json::array());
  }();
  return keys;
}

PpoConfig parse_ppo_config(const json& merged, const std::string& where) {
  PpoConfig c;
  parse_finetune_config(c, merged, where, 3e-6, 1e-5);
  const SettingsReader r{c.merged, where};
  c.rewards = r.list("reward");
  if (c.rewards.empty()) fail("{}: \"reward\" needs at least one reward (e.g. --reward model:RM_DIR)", where);
  parse_rl_rollout_config(c, where);
  c.samples = r.positive("samples");
  c.ppo_epochs = r.positive("ppo_epochs");
  c.mini_batches = r.positive("mini_batches");
  c.kl_coef = r.f32("kl_coef");
  if (!(c.kl_coef >= 0)) fail("{}: \"kl_coef\" must be >= 0, got {}", where, c.kl_coef);
  if (!c.merged.at("target_kl").is_null()) {
    c.target_kl = r.f32("target_kl");
    if (!(c.target_kl > 0)) fail("{}: \"target_kl\" must be positive, got {}", where, c.target_kl);
  }
  c.kl_horizon = r.f32("kl_horizon");
  if (!(c.kl_horizon > 0)) fail("{}: \"kl_horizon\" must be positive, got {}", where, c.kl_horizon);
  try {
    c.kl_estimator = parse_kl_estimator(r.str("kl_estimator"));
  } catch (const Error& e) {
    fail("{}: \"kl_estimator\": {}", where, e.what());
  }
  c.gamma = r.f32("gamma");
  c.lam = r.f32("lam");
  if (!(c.gamma >= 0 && c.gamma <= 1)) fail("{}: \"gamma\" must be within [0, 1], got {}", where, c.gamma);
  if (!(c.lam >= 0 && c.lam <= 1)) fail("{}: \"lam\" must be within [0, 1], got {}", where, c.lam);
  c.loss.clip.eps_low = c.loss.clip.eps_high = r.f32("cliprange");
  if (!(c.loss.clip.eps_low > 0 && c.loss.clip.eps_low < 1))
    fail("{}: \"cliprange\" must be within (0, 1), got {}", where, c.loss.clip.eps_low);
  c.loss.value_clip = r.f32("cliprange_value");
  if (!(c.loss.value_clip > 0)) fail("{}: \"cliprange_value\" must be positive, got {}", where, c.loss.value_clip);
  c.loss.vf_coef = r.f32("vf_coef");
  if (!(c.loss.vf_coef >= 0)) fail("{}: \"vf_coef\" must be >= 0, got {}", where, c.loss.vf_coef);
  c.missing_eos_penalty = r.f32("missing_eos_penalty");
  if (!(c.missing_eos_penalty >= 0))
    fail("{}: \"missing_eos_penalty\" must be >= 0, got {}", where, c.missing_eos_penalty);
  c.normalize_reward = r.flag("normalize_reward");
  c.whiten_advantages = r.flag("whiten_advantages");
  c.value_init = r.str("value_init");
  if (c.value_init != "policy" && c.value_init != "reward")
    fail("{}: \"value_init\" must be policy or reward, got \"{}\"", where, c.value_init);
  if (c.value_init == "reward" && c.lora)
    fail("{}: \"value_init\" reward needs a full run (a LoRA value model shares the policy's base)", where);
  return c;
}

}  // namespace baimo::train
