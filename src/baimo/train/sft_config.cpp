#include "baimo/train/sft_config.h"

#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

const RunKeys& sft_keys() {
  static const RunKeys keys = [] {
    RunKeys k = finetune_keys("Chat data files (OpenAI messages JSONL, Alpaca JSON/JSONL, ShareGPT)",
                              "Rows per micro-batch (global, over all ranks)",
                              json{{"steps", nullptr},
                                   {"lr", nullptr},
                                   {"min_lr", nullptr},
                                   {"weight_decay", 0.0},
                                   {"beta2", 0.999},
                                   {"eval_interval", 50},
                                   {"checkpoint_interval", 100},
                                   {"keep", 2}});
    RunKeys own = {
        {"format", KeyKind::Str, "auto", "auto | openai | alpaca | sharegpt"},
        {"name", KeyKind::Str, "baimo", "Fills {{name}} in the data (identity datasets)"},
        {"author", KeyKind::Str, "baimo", "Fills {{author}} in the data"},
        {"long", KeyKind::Str, "truncate", "A longer conversation: truncate (its prompt, from the left) | skip"},
        {"packing", KeyKind::Bool, true, "Pack several conversations per row (attention and positions reset at each)"},
        {"eval_rows", KeyKind::Int, 0, "Held-out rows per evaluation (0 = all)"},
        {"debug_dump_rows", KeyKind::Str, "",
         "Benchmarks: write the rows of the first steps x grad_accum micro-batches to this safetensors file and exit"},
    };
    k.insert(k.begin() + 4, std::make_move_iterator(own.begin()), std::make_move_iterator(own.end()));
    return k;
  }();
  return keys;
}

SftConfig parse_sft_config(const json& merged, const std::string& where) {
  SftConfig c;
  parse_finetune_config(c, merged, where, 2e-5, 2e-4);
  const SettingsReader r{c.merged, where};
  c.format = r.str("format");
  if (c.format != "auto" && c.format != "openai" && c.format != "alpaca" && c.format != "sharegpt")
    fail("{}: \"format\" must be auto, openai, alpaca or sharegpt, got \"{}\"", where, c.format);
  c.placeholders = {{"name", r.str("name")}, {"author", r.str("author")}};
  const std::string long_rule = r.str("long");
  if (long_rule != "truncate" && long_rule != "skip")
    fail("{}: \"long\" must be truncate or skip, got \"{}\"", where, long_rule);
  c.skip_long = long_rule == "skip";
  c.packing = r.flag("packing");
  c.eval_rows = r.non_negative("eval_rows");
  c.debug_dump_rows = r.str("debug_dump_rows");
  return c;
}

}  // namespace baimo::train
