// The recipe's plan: which baimo commands each stage runs, with which flags, from a recipe config.
// Stages, in order (each can be skipped; DIR = the recipe's --out):
//   tokenizer  tokenizer train on the corpus                         -> DIR/tokenizer/tokenizer.json
//   data       data prepare (token shards) + data arithmetic (task)   -> DIR/data/shards, DIR/data/task
//   pretrain   init (model config + tokenizer) + pretrain              -> DIR/pretrain/final  (the base)
//   sft        sft on the task's conversations                         -> DIR/sft/final
//   rm         rm train on the task's preference pairs (measured)      -> DIR/rm/final
//   dpo        dpo from the SFT model                                  -> DIR/dpo/final
//   grpo       grpo from the latest policy on the task's RL problems (unseen by SFT), reward match -> DIR/grpo/final
//   ppo        ppo from the latest policy against the reward model     -> DIR/ppo/final   (off by default)
//   distill    init of a smaller student + distill from the policy     -> DIR/distill/final
//   quantize   quantize the policy to GGUF                             -> DIR/quantize/model-q8_0.gguf
//   serve      serve the final model on loopback, ask it the sample prompts -> DIR/serve/samples.json
// Every model a stage makes is evaluated (`eval run`, the "eval" section) into DIR/eval/STAGE.json.
// A policy stage trained with --lora (sft, dpo, grpo, ppo) also merges its adapter into its starting
// model (`lora merge` -> DIR/STAGE/merged): the next stages, the evaluation and serving get a whole model.
// Config (JSON object; every key optional):
//   "seed", "corpus": [paths] (default: the repository's bilingual guides and README),
//   "model": DIR (start from this model: tokenizer, data shards and pretrain are skipped),
//   and one section per command: "tokenizer", "data", "task", "init", "pretrain", "sft", "rm", "dpo",
//   "grpo", "ppo", "student" (distill's student init), "distill", "quantize", "eval", "serve".
//   A section maps flag names ("max_len" or "max-len") to values: a string or number (one value),
//   an array (several), true (a bare flag), false (--no-FLAG), null (drop a default flag).
//   "skip": true in a stage's main section skips the stage; "serve" also takes "prompts": [texts].
// Unknown top-level keys and sections, and values of the wrong type, are errors naming the key.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace baimo::recipe {

// Flags in order: name ("--lr") -> values (empty: a bare flag).
using Flags = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct Command {
  std::vector<std::string> sub;  // {"tokenizer", "train"}
  Flags flags;
  std::string section;           // the config section its flags come from
  bool trains = false;           // a Trainer run: resumable with --resume from its --out's checkpoints
  std::vector<std::string> argv() const;           // sub + flags, without the program
  std::optional<std::string> flag(const std::string& name) const;  // the first value of a flag
  bool has(const std::string& name) const;
};

struct Stage {
  std::string name;
  bool skip = false;
  std::vector<Command> commands;
  std::string model;    // the model this stage makes ("" for none)
  std::string run_dir;  // a training stage's run directory (metrics.jsonl), "" for none
  bool evaluate = false;  // eval run on `model` after the commands
  std::vector<std::string> prompts;  // serve: the sample prompts
};

struct Plan {
  std::string out;
  nlohmann::json config;  // the config as given (saved as DIR/recipe.json)
  std::vector<Stage> stages;
  Command eval;           // the eval run command, with --model/--out/--log-samples filled per stage
  const Stage* find(const std::string& name) const;
};

const std::vector<std::string>& stage_names();
// source_dir: the repository (the default corpus and model configs). Errors name the config key.
Plan make_plan(const nlohmann::json& config, const std::string& out, const std::string& source_dir);
// The eval command for one stage's model.
Command eval_command(const Plan& plan, const Stage& stage);
std::string eval_results_path(const Plan& plan, const std::string& stage);
std::string eval_samples_path(const Plan& plan, const std::string& stage);
// "baimo sft --model 'a b' ..." quoted for a POSIX shell.
std::string shell_command(const Command& c);

}  // namespace baimo::recipe
