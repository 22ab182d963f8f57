// What every fine-tuning command (`sft`, `rm train`, `dpo`) does around its objective:
//   - start_finetune: ranks joined (mpirun), threads set, OUT checked (fresh or resuming);
//   - open_finetune_tokenizer: the start model's tokenizer and chat template (its own, else ChatML, or
//     --template); the template's markers the tokenizer lacks are added for a full fine-tune (new
//     embedding rows, mean-initialised by the model's resize_vocab) and refused for LoRA (the rows
//     would stay untrained: trainable token rows replace rows of the base's embedding, and a row the
//     base lacks would need the frozen base's vocabulary grown, which neither the adapter over the
//     original base nor PEFT's token adapter can carry);
//   - load_finetune_model: the model to train: f32 weights for a full fine-tune; for LoRA a frozen base
//     (f32 Vars without gradients, or the GGUF's / --base-dtype's blocks) with a fresh adapter attached,
//     its trainable token rows (--lora-trainable-tokens, resolve_trainable_tokens) copied from the base;
//   - write_run_files: OUT/tokenizer/{tokenizer.json, tokenizer_config.json (the chat template)} and
//     OUT/run_config.json (paths absolute), rank 0 only, then a barrier;
//   - resume_if_asked: --resume / --resume-from, printing what happened;
//   - save_final_model: OUT/final, rank 0 only.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "baimo/model/lora.h"
#include "baimo/model/open_model.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/train/finetune_config.h"
#include "baimo/train/trainer.h"

namespace baimo::cli {

// The base's tokenizer.json text, its Jinja chat template and where they came from.
struct BaseTokenizer {
  std::string json_text, chat_template, where;
};
BaseTokenizer base_tokenizer(const ModelPath& base);

void start_finetune(train::FinetuneConfig& cfg);

struct FinetuneTokenizer {
  BaseTokenizer base;  // json_text includes the added markers
  Tokenizer tok;       // from base.json_text
  ChatTemplateKind kind = ChatTemplateKind::ChatML;
  size_t new_ids = 0;  // markers added
};
FinetuneTokenizer open_finetune_tokenizer(const train::FinetuneConfig& cfg);

// The ids of --lora-trainable-tokens: auto -> the template's markers the tokenizer has (in the
// template's order), none -> {}, else the listed ids (each inside the tokenizer's vocabulary).
std::vector<int32_t> resolve_trainable_tokens(const std::string& spec, const FinetuneTokenizer& ft);

// `adapter` gets the LoRA adapter (attached) of a LoRA run; `convert` (when given) turns the loaded
// model into the one to train before the adapter is made (e.g. a causal LM into a reward model).
Transformer load_finetune_model(const train::FinetuneConfig& cfg, const FinetuneTokenizer& ft,
                                std::optional<LoraAdapter>& adapter,
                                const std::function<Transformer(Transformer)>& convert = {});

// OUT/tokenizer/tokenizer.json's path (what checkpoints and the final model copy).
std::string run_tokenizer_path(const train::FinetuneConfig& cfg);
void write_run_files(train::FinetuneConfig& cfg, const FinetuneTokenizer& ft,
                     const std::vector<std::string>& path_keys);

// True when a checkpoint was restored.
bool resume_if_asked(train::Trainer& trainer, const train::FinetuneConfig& cfg);

// Rank 0 writes OUT/final: a LoRA run's adapter in the PEFT layout (over cfg.model), or with
// `merge_adapter` the base with the adapter merged in; a model directory carries the run's tokenizer.
void save_final_model(const train::FinetuneConfig& cfg, Transformer& model, const std::optional<LoraAdapter>& adapter,
                      bool merge_adapter = false);

// The ids that end an answer (rollouts, on-policy samples): the template's end-of-turn token, the
// tokenizer's and the config's EOS.
std::vector<int32_t> end_ids(const FinetuneTokenizer& ft, const ModelConfig& mc);

}  // namespace baimo::cli
