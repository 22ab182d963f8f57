#include "baimo/train/finetune_config.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

RunKeys finetune_keys(const char* data_help, const char* batch_help, const json& trainer_overrides) {
  RunKeys k = {
      {"model", KeyKind::Str, "", "Model to start from: a model directory or a GGUF file"},
      {"data", KeyKind::List, json::array(), data_help},
      {"eval_data", KeyKind::List, json::array(), "Held-out files (instead of holding out --val-fraction of --data)"},
      {"template", KeyKind::Str, "auto", "Chat template: auto (the model's, else ChatML) | chatml | llama3"},
      {"max_len", KeyKind::Int, 1024, "Tokens per conversation at most"},
      {"batch", KeyKind::Int, 8, batch_help},
      {"epochs", KeyKind::Num, 3.0, "Passes over the training data (sets --steps when it is not given)"},
      {"val_fraction", KeyKind::Num, 0.05, "Share of the records held out for validation"},
      {"lora", KeyKind::Bool, false, "Train a LoRA adapter on a frozen base instead of every weight"},
      {"lora_r", KeyKind::Int, 8, "LoRA rank"},
      {"lora_alpha", KeyKind::Num, 16.0, "LoRA alpha (scaling alpha / r)"},
      {"lora_dropout", KeyKind::Num, 0.05, "Dropout on the LoRA path's input"},
      {"lora_targets", KeyKind::Str, "q,k,v,o,gate,up,down", "Linear layers that get an adapter (or all)"},
      {"rslora", KeyKind::Bool, false, "Rank-stabilised LoRA: scaling alpha / sqrt(r)"},
      {"lora_trainable_tokens", KeyKind::Str, "auto",
       "LoRA: token ids whose embedding (and tied head) rows train too (PEFT trainable_token_indices): "
       "auto (the chat template's markers) | none | IDS (comma-separated)"},
      {"base_dtype", KeyKind::Str, "auto",
       "LoRA: storage of the frozen base: auto (a GGUF's own types, else f32) | f32 | f16 | bf16 | q8_0 | q4_0"},
  };
  for (RunKey& key : trainer_keys(trainer_overrides)) k.push_back(std::move(key));
  return k;
}

const std::vector<std::string>& finetune_path_keys() {
  static const std::vector<std::string> keys{"model", "data", "eval_data", "out", "resume_from"};
  return keys;
}

void parse_finetune_config(FinetuneConfig& c, const json& merged, const std::string& where, double lr_full,
                           double lr_lora) {
  c.merged = merged;
  const SettingsReader r{c.merged, where};
  c.lora = r.flag("lora");
  // Defaults that depend on the run, resolved before the trainer's checks.
  if (c.merged.at("lr").is_null()) c.merged["lr"] = c.lora ? lr_lora : lr_full;
  if (c.merged.at("min_lr").is_null()) c.merged["min_lr"] = c.merged["lr"].get<double>() / 10;
  const bool steps_given = !c.merged.at("steps").is_null();
  json checked = c.merged;
  if (!steps_given) checked["steps"] = 1000000000;  // placeholder for the checks; resolve_finetune_steps sets it
  c.settings = parse_trainer_settings(checked, where);
  if (steps_given) c.merged["warmup"] = checked["warmup"];
  else c.settings.trainer.steps = 0;

  c.model = r.str("model");
  if (c.model.empty()) fail("{}: \"model\" (--model DIR or FILE.gguf) is required", where);
  c.data = r.list("data");
  if (c.data.empty()) fail("{}: \"data\" (--data FILE...) is required", where);
  c.eval_data = r.list("eval_data");
  c.chat_template = r.str("template");
  c.max_len = r.positive("max_len");
  if (c.max_len < 8) fail("{}: \"max_len\" must be at least 8, got {}", where, c.max_len);
  c.batch = r.positive("batch");
  c.epochs = r.f64("epochs");
  if (!(c.epochs > 0) || !std::isfinite(c.epochs)) fail("{}: \"epochs\" must be positive, got {}", where, c.epochs);
  c.val_fraction = r.f64("val_fraction");
  if (!(c.val_fraction >= 0 && c.val_fraction < 1))
    fail("{}: \"val_fraction\" must be within [0, 1), got {}", where, c.val_fraction);
  c.lora_config.r = r.positive("lora_r");
  c.lora_config.alpha = r.f32("lora_alpha");
  c.lora_config.dropout = r.f32("lora_dropout");
  c.lora_config.rslora = r.flag("rslora");
  c.lora_config.targets = parse_lora_targets(r.str("lora_targets"));
  c.lora_config.validate(where);
  c.lora_trainable_tokens = r.str("lora_trainable_tokens");
  if (c.lora_trainable_tokens != "auto" && c.lora_trainable_tokens != "none") {
    parse_token_ids(c.lora_trainable_tokens, fmt::format("{}: \"lora_trainable_tokens\"", where));
    if (!c.lora) fail("{}: \"lora_trainable_tokens\" {} needs --lora (a full fine-tune trains every row)", where,
                      c.lora_trainable_tokens);
  }
  c.base_dtype = r.str("base_dtype");
  static const char* dtypes[] = {"auto", "f32", "f16", "bf16", "q8_0", "q4_0"};
  if (std::find(std::begin(dtypes), std::end(dtypes), c.base_dtype) == std::end(dtypes))
    fail("{}: \"base_dtype\" must be auto, f32, f16, bf16, q8_0 or q4_0, got \"{}\"", where, c.base_dtype);
  if (!c.lora && c.base_dtype != "auto" && c.base_dtype != "f32")
    fail("{}: \"base_dtype\" {} needs --lora (a full fine-tune trains f32 weights)", where, c.base_dtype);
  c.settings.trainer.run_config = c.merged;
}

void resolve_finetune_steps(FinetuneConfig& c, int64_t units_per_epoch) {
  if (!c.merged.at("steps").is_null()) return;
  const double per_step = static_cast<double>(c.batch * c.settings.trainer.grad_accum);
  set_resolved_steps(c, static_cast<int64_t>(std::ceil(c.epochs * static_cast<double>(units_per_epoch) / per_step)));
}

void set_resolved_steps(FinetuneConfig& c, int64_t steps) {
  steps = std::max<int64_t>(1, steps);
  c.merged["steps"] = steps;
  TrainerOptions& o = c.settings.trainer;
  o.steps = steps;
  if (c.merged.at("warmup").is_null()) {
    o.warmup = std::min<int64_t>(100, steps / 10);
    c.merged["warmup"] = o.warmup;
  }
  if (o.warmup > steps) fail("\"warmup\" {} exceeds the {} steps of {} epochs", o.warmup, steps, c.epochs);
  o.run_config = c.merged;
}

}  // namespace baimo::train
