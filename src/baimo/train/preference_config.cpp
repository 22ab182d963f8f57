#include "baimo/train/preference_config.h"

#include <algorithm>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {

RunKeys preference_keys(RunKeys own) {
  RunKeys k = finetune_keys(
      "Preference files: {prompt|messages|conversations, chosen, rejected} JSON/JSONL (ShareGPT, OpenAI, TRL) "
      "or Anthropic HH {chosen, rejected} transcripts; .gz read directly",
      "Pairs per micro-batch (global, over all ranks)",
      json{{"steps", nullptr},
           {"lr", nullptr},
           {"min_lr", nullptr},
           {"weight_decay", 0.0},
           {"beta2", 0.999},
           {"eval_interval", 50},
           {"checkpoint_interval", 100},
           {"keep", 2}});
  own.insert(own.begin(), {"max_prompt_len", KeyKind::Int, nullptr, "Prompt tokens at most, the left is cut (default min(512, max_len / 2))"});
  k.insert(k.begin() + 5, std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
  return k;
}

}  // namespace

const RunKeys& dpo_keys() {
  static const RunKeys keys = preference_keys({
      {"loss", KeyKind::Str, "sigmoid", "sigmoid (DPO) | ipo | hinge | simpo | orpo (the last two need no reference)"},
      {"beta", KeyKind::Num, 0.1, "Strength of the KL leash (DPO's beta; ORPO's lambda)"},
      {"label_smoothing", KeyKind::Num, 0.0, "sigmoid: share of labels assumed flipped (cDPO), in [0, 0.5)"},
      {"simpo_gamma", KeyKind::Num, 0.5, "simpo: the target reward margin gamma"},
      {"rpo_alpha", KeyKind::Num, 0.0,
       "RPO: weight of the chosen answers' mean token NLL added to the loss (keeps chosen log-probs up; 0: off)"},
      {"debug_dump_pairs", KeyKind::Str, "",
       "Benchmarks: write the rows and reference log-probs of the first steps x grad_accum micro-batches to this "
       "safetensors file and exit"},
  });
  return keys;
}

const RunKeys& rm_keys() {
  static const RunKeys keys = preference_keys({
      {"center_rewards", KeyKind::Num, 0.0, "Coefficient of mean((r+ + r-)^2): keeps rewards centred on 0 (TRL's centring)"},
  });
  return keys;
}

PreferenceConfig parse_preference_config(const json& merged, const std::string& where, PreferenceStage stage) {
  PreferenceConfig c;
  const bool dpo = stage == PreferenceStage::Dpo;
  parse_finetune_config(c, merged, where, dpo ? 1e-6 : 1e-5, dpo ? 5e-6 : 1e-4);
  const SettingsReader r{c.merged, where};
  // A default adapts to a short max_len; only a value someone chose can conflict with it.
  if (c.merged.at("max_prompt_len").is_null()) {
    c.max_prompt_len = std::min<int64_t>(512, c.max_len / 2);
    c.merged["max_prompt_len"] = c.max_prompt_len;  // saved resolved, like warmup
  } else {
    c.max_prompt_len = r.positive("max_prompt_len");
  }
  if (c.max_prompt_len >= c.max_len)
    fail("{}: \"max_prompt_len\" {} must be below \"max_len\" {} (the answers need room)", where, c.max_prompt_len,
         c.max_len);
  if (dpo) {
    c.loss.type = parse_preference_loss(r.str("loss"));
    c.loss.beta = r.f32("beta");
    if (!(c.loss.beta > 0)) fail("{}: \"beta\" must be positive, got {}", where, c.loss.beta);
    c.loss.label_smoothing = r.f32("label_smoothing");
    if (!(c.loss.label_smoothing >= 0 && c.loss.label_smoothing < 0.5f))
      fail("{}: \"label_smoothing\" must be within [0, 0.5), got {}", where, c.loss.label_smoothing);
    c.loss.simpo_gamma = r.f32("simpo_gamma");
    c.loss.rpo_alpha = r.f32("rpo_alpha");
    if (!(c.loss.rpo_alpha >= 0)) fail("{}: \"rpo_alpha\" must be >= 0, got {}", where, c.loss.rpo_alpha);
    c.debug_dump_pairs = r.str("debug_dump_pairs");
  } else {
    c.center_rewards = r.f32("center_rewards");
    if (!(c.center_rewards >= 0)) fail("{}: \"center_rewards\" must be >= 0, got {}", where, c.center_rewards);
  }
  return c;
}

}  // namespace baimo::train
