// Answers of a chat model to conversations, for comparing models (`baimo eval winrate`): each
// conversation goes through the model's chat template with the generation prompt
// (infer/inference_model.h encode_chat_prompt: message text as plain text, the BOS once when the
// model wants it) and is answered on the batched engine (eval/batch_generate.h, the path of
// `eval run`'s generation tasks), stopping at the template's end of turn or the model's EOS ids.
// temperature 0 = greedy (the answers do not depend on `slots`); else sampled with seed + index.
// Contract: one ChatAnswer per conversation, in order: the text (the end-of-turn marker removed),
// its generated tokens, and ended_turn = it stopped by itself on the template's end-of-turn token
// (for the plain template, on any EOS id or the stop string) rather than at max_tokens or the
// context's end. A prompt of ctx tokens or more is a baimo::Error naming its index.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baimo/infer/inference_model.h"
#include "baimo/tokenizer/chat_template.h"

namespace baimo::eval {

struct ChatAnswerOptions {
  int slots = 8;
  int64_t ctx = 0;  // 0: the model's context, at most 2048
  int max_tokens = 128;
  float temperature = 0;
  uint64_t seed = 0;
  int threads = 0;
};

struct ChatAnswer {
  std::string text;
  int64_t tokens = 0;
  bool ended_turn = false;
};

std::vector<ChatAnswer> answer_chats(const InferenceModel& m, const std::vector<std::vector<ChatMessage>>& conversations,
                                     const ChatAnswerOptions& options, const std::function<void(int64_t done)>& progress = {});

}  // namespace baimo::eval
