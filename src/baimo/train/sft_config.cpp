#include "baimo/train/sft_config.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& sft_keys() {
  static const RunKeys keys = [] {
    RunKeys k = {
        {"model", KeyKind::Str, "", "Base model: a model directory or a GGUF file"},
        {"data", KeyKind::List, json::array(), "Chat data files (OpenAI messages JSONL, Alpaca JSON/JSONL, ShareGPT)"},
        {"format", KeyKind::Str, "auto", "auto | openai | alpaca | sharegpt"},
        {"template", KeyKind::Str, "auto", "Chat template: auto (the base model's, else ChatML) | chatml | llama3"},
        {"name", KeyKind::Str, "baimo", "Fills {{name}} in the data (identity datasets)"},
        {"author", KeyKind::Str, "baimo", "Fills {{author}} in the data"},
        {"max_len", KeyKind::Int, 1024, "Tokens per conversation at most (and per packed row)"},
        {"long", KeyKind::Str, "truncate", "A longer conversation: truncate (its prompt, from the left) | skip"},
        {"packing", KeyKind::Bool, true, "Pack several conversations per row (attention and positions reset at each)"},
        {"batch", KeyKind::Int, 8, "Rows per micro-batch (global, over all ranks)"},
        {"epochs", KeyKind::Num, 3.0, "Passes over the training data (sets --steps when it is not given)"},
        {"val_fraction", KeyKind::Num, 0.05, "Share of the conversations held out for the validation loss"},
        {"eval_rows", KeyKind::Int, 0, "Held-out rows per evaluation (0 = all)"},
        {"lora", KeyKind::Bool, false, "Train a LoRA adapter on a frozen base instead of every weight"},
        {"lora_r", KeyKind::Int, 8, "LoRA rank"},
        {"lora_alpha", KeyKind::Num, 16.0, "LoRA alpha (scaling alpha / r)"},
        {"lora_dropout", KeyKind::Num, 0.05, "Dropout on the LoRA path's input"},
        {"lora_targets", KeyKind::Str, "q,k,v,o,gate,up,down", "Linear layers that get an adapter (or all)"},
        {"rslora", KeyKind::Bool, false, "Rank-stabilised LoRA: scaling alpha / sqrt(r)"},
        {"base_dtype", KeyKind::Str, "auto",
         "LoRA: storage of the frozen base: auto (a GGUF's own types, else f32) | f32 | f16 | bf16 | q8_0 | q4_0"},
        {"debug_dump_rows", KeyKind::Str, "",
         "Benchmarks: write the rows of the first steps x grad_accum micro-batches to this safetensors file and exit"},
    };
    RunKeys t = trainer_keys(json{{"steps", nullptr},
                                  {"lr", nullptr},
                                  {"min_lr", nullptr},
                                  {"weight_decay", 0.0},
                                  {"beta2", 0.999},
                                  {"eval_interval", 50},
                                  {"checkpoint_interval", 100},
                                  {"keep", 2}});
    for (RunKey& key : t) k.push_back(std::move(key));
    return k;
  }();
  return keys;
}

const std::vector<std::string>& sft_path_keys() {
  static const std::vector<std::string> keys{"model", "data", "out", "resume_from"};
  return keys;
}

SftConfig parse_sft_config(const json& merged, const std::string& where) {
  SftConfig c;
  c.merged = merged;
  const SettingsReader r{c.merged, where};
  c.lora = r.flag("lora");
  // Defaults that depend on the run, resolved before the trainer's checks.
  if (c.merged.at("lr").is_null()) c.merged["lr"] = c.lora ? 2e-4 : 2e-5;
  if (c.merged.at("min_lr").is_null()) c.merged["min_lr"] = c.merged["lr"].get<double>() / 10;
  const bool steps_given = !c.merged.at("steps").is_null();
  json checked = c.merged;
  if (!steps_given) checked["steps"] = 1000000000;  // placeholder for the checks; resolve_sft_steps sets it
  c.settings = parse_trainer_settings(checked, where);
  if (steps_given) c.merged["warmup"] = checked["warmup"];
  else c.settings.trainer.steps = 0;

  c.model = r.str("model");
  if (c.model.empty()) fail("{}: \"model\" (--model DIR or FILE.gguf) is required", where);
  c.data = r.list("data");
  if (c.data.empty()) fail("{}: \"data\" (--data FILE...) is required", where);
  c.format = r.str("format");
  if (c.format != "auto" && c.format != "openai" && c.format != "alpaca" && c.format != "sharegpt")
    fail("{}: \"format\" must be auto, openai, alpaca or sharegpt, got \"{}\"", where, c.format);
  c.chat_template = r.str("template");
  c.placeholders = {{"name", r.str("name")}, {"author", r.str("author")}};
  c.max_len = r.positive("max_len");
  if (c.max_len < 8) fail("{}: \"max_len\" must be at least 8, got {}", where, c.max_len);
  const std::string long_rule = r.str("long");
  if (long_rule != "truncate" && long_rule != "skip")
    fail("{}: \"long\" must be truncate or skip, got \"{}\"", where, long_rule);
  c.skip_long = long_rule == "skip";
  c.packing = r.flag("packing");
  c.batch = r.positive("batch");
  c.epochs = r.f64("epochs");
  if (!(c.epochs > 0) || !std::isfinite(c.epochs)) fail("{}: \"epochs\" must be positive, got {}", where, c.epochs);
  c.val_fraction = r.f64("val_fraction");
  if (!(c.val_fraction >= 0 && c.val_fraction < 1))
    fail("{}: \"val_fraction\" must be within [0, 1), got {}", where, c.val_fraction);
  c.eval_rows = r.non_negative("eval_rows");
  c.lora_config.r = r.positive("lora_r");
  c.lora_config.alpha = r.f32("lora_alpha");
  c.lora_config.dropout = r.f32("lora_dropout");
  c.lora_config.rslora = r.flag("rslora");
  c.lora_config.targets = parse_lora_targets(r.str("lora_targets"));
  c.lora_config.validate(where);
  c.base_dtype = r.str("base_dtype");
  static const char* dtypes[] = {"auto", "f32", "f16", "bf16", "q8_0", "q4_0"};
  if (std::find(std::begin(dtypes), std::end(dtypes), c.base_dtype) == std::end(dtypes))
    fail("{}: \"base_dtype\" must be auto, f32, f16, bf16, q8_0 or q4_0, got \"{}\"", where, c.base_dtype);
  if (!c.lora && c.base_dtype != "auto" && c.base_dtype != "f32")
    fail("{}: \"base_dtype\" {} needs --lora (a full fine-tune trains f32 weights)", where, c.base_dtype);
  c.debug_dump_rows = r.str("debug_dump_rows");
  c.settings.trainer.run_config = c.merged;
  return c;
}

void resolve_sft_steps(SftConfig& c, int64_t train_rows) {
  if (!c.merged.at("steps").is_null()) return;
  const double per_step = static_cast<double>(c.batch * c.settings.trainer.grad_accum);
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(c.epochs * train_rows / per_step)));
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
