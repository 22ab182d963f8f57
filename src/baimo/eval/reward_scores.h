// Scoring conversations with a reward model (model/reward_model.h): what `baimo rm score` and
// `baimo serve` (POST /v1/rewards) both call, so the CLI and the HTTP API give the same numbers.
// Contract:
// - load_reward_scorer(dir, chat_template): a reward-model directory (config.json with
//   *ForSequenceClassification, model.safetensors with score.weight, tokenizer.json). A causal LM
//   is a baimo::Error ("DIR has no score head (causal LM ...): train one with baimo rm train"), as
//   is a GGUF file or a directory without tokenizer.json. chat_template: "" = the model's
//   (tokenizer_config.json's Jinja template, detected as `baimo sft` and chat do), else a name.
// - encode_conversation: the whole conversation, rendered with the template WITHOUT a generation
//   prompt (render_chat_ids: the final assistant turn and its end-of-turn marker included, anything
//   the template puts after that marker left out), the BOS prepended once when the tokenizer wants it
//   (infer/inference_model.h prepend_bos_once). The reward is the score at its last token (the
//   end-of-turn marker for ChatML / Llama-3): the token `baimo rm train` scores.
// - score_conversations: one reward per conversation, in order, `batch` per forward (no gradient).
//   A conversation longer than the model's context is a baimo::Error naming its index.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "baimo/model/transformer.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct RewardScorer {
  std::shared_ptr<const Transformer> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  ChatTemplateKind chat_template = ChatTemplateKind::ChatML;
  const ModelConfig& config() const { return model->config(); }
};

RewardScorer load_reward_scorer(const std::string& dir, const std::string& chat_template = "");

std::vector<int32_t> encode_conversation(const RewardScorer& s, std::span<const ChatMessage> messages);

std::vector<float> score_conversations(const RewardScorer& s, const std::vector<std::vector<ChatMessage>>& conversations,
                                       int64_t batch = 8);

}  // namespace baimo
