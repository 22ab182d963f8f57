// The model an evaluation scores, behind one interface, so that a task runs the same on a model
// loaded here (eval/local_backend.h) and on a model served over the OpenAI API (eval/api_backend.h).
// Contract:
// - score_mc: for each item (a context and its choices, eval/task.h McExample's convention: each
//   choice is the text that follows the context verbatim), the summed log-probability of each
//   choice's tokens after the context, and the predictions (eval/mc_score.h mc_result); `log` holds
//   what the backend can add to the example's --log-samples record (e.g. token ids). progress(done)
//   after each finished item, done increasing.
// - generate: for each prompt (chat messages, or raw text when raw), `samples` answers of at most
//   max_tokens tokens (temperature 0: greedy; sample i of prompt p seeded seed + p * samples + i);
//   each answer's text (stop strings removed), token count, whether it stopped by itself, whether
//   that stop ended a chat turn (end_of_turn); `prompt_log` per prompt: what was sent, for the log.
//   Raw prompts stop at a newline.
// - end_of_turn_known(raw): whether GeneratedSample::end_of_turn is measured (eot_rate reported).
// Failures (engine, network, a malformed answer) are baimo::Errors.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "baimo/eval/batch_generate.h"
#include "baimo/eval/mc_score.h"
#include "baimo/tokenizer/chat_template.h"

namespace baimo::eval {

struct McItem {
  std::string context;
  std::vector<std::string> choices;
};

struct McScored {
  McResult result;
  nlohmann::json log = nlohmann::json::object();
};

struct GenPrompt {
  bool raw = false;
  std::string text;                   // raw
  std::vector<ChatMessage> messages;  // chat
};

struct GenSettings {
  int max_tokens = 32;
  int samples = 1;
  float temperature = 0;
  float repetition_penalty = 1;  // 1 = off (CTRL-style, as llama.cpp's repeat_penalty and vLLM's)
  uint64_t seed = 0;
};

struct GenOutput {
  std::vector<std::vector<GeneratedSample>> samples;  // per prompt
  std::vector<nlohmann::json> prompt_log;             // per prompt
};

using DoneFn = std::function<void(int64_t done)>;

class EvalBackend {
 public:
  virtual ~EvalBackend() = default;
  virtual std::vector<McScored> score_mc(std::span<const McItem> items, const DoneFn& progress) = 0;
  virtual GenOutput generate(std::span<const GenPrompt> prompts, const GenSettings& s, const DoneFn& progress) = 0;
  virtual bool end_of_turn_known(bool raw) const = 0;
};

}  // namespace baimo::eval
