// Reward functions for RL objectives (GRPO / PPO in train/ take them as a callback): each scores a
// batch of sampled answers, one finite number per answer.
// A --reward spec is NAME[:ARG][@WEIGHT]. A trailing "@NUMBER" is always the weight (a finite float,
// default 1); to keep an '@' + number at the end of ARG, append "@1". Kinds (1 or 0 unless said):
// - match[:last_number|exact|regex:PAT|json:FIELD] (default last_number): the answer the extractor
//   (eval/extract.h) finds in the completion equals the item's reference answer, compared as
//   check_answer does (last_number: both canonical, so "１，２３４" matches "1234"). An item without a
//   reference answer is a baimo::Error naming it.
// - regex:PAT: the completion contains a match of the ECMAScript pattern (a bad pattern: parse error).
//   Patterns match UTF-8 bytes: write a non-ASCII alternative as (?:：|:), not inside [...].
// - json: the completion, trimmed, is JSON, or is one ```json (or ```) fenced block holding JSON.
// - length:MAX: 0 when tokens <= MAX, else -(tokens - MAX) / MAX (a soft overlong penalty). MAX > 0.
// - stop: 1 when the answer ended with the end-of-turn token (item.stopped).
// - model:DIR: a reward model in process (eval/reward_scores.h) scoring the item's messages plus
//   {"role": "assistant", "content": completion}, with ctx.chat_template and ctx.batch. It runs
//   forwards on the calling thread's tape and resets it (model/reward_model.h score_sequences): call
//   score() outside a training step (after sampling, before the loss's forward) or on another thread.
// - command:CMD: `/bin/sh -c CMD` (util/subprocess.h) once per score(); its stdin gets one JSON object
//   per item per line ({"messages", "prompt", "completion", "answer", "stopped", "tokens"}), its stdout
//   must hold one number per line, one line per item. A non-zero exit (with its stderr's tail), a
//   timeout (ctx.timeout_s; the command is killed), too few or too many lines, a line that is not a
//   finite number (its number and text) are baimo::Errors naming the command.
// - url:URL: HTTP POST to URL of {"items": [the objects command gets], "input": [[messages +
//   the assistant answer], ...]}: "input" is what `baimo serve --model RM`'s POST /v1/rewards scores,
//   so URL may be such a server's http://HOST:PORT/v1/rewards. At most 256 items per request (the
//   server's limit). The rewards are read from {"rewards": [numbers]} or /v1/rewards' {"data":
//   [{"index", "reward"}]}. ctx.api_key is sent as a bearer token when given. Unreachable, non-2xx,
//   not JSON, the wrong count, a non-number: baimo::Error naming the URL.
// An unknown kind is an error listing the kinds. name() is the kind, with "_2", "_3"... for a kind
// given more than once; score_rewards logs each function's raw scores under it ("reward/<name>").
// score(items) returns items.size() finite numbers or throws; score_rewards checks that again
// (never a silent zero) and sums weight * score per item.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace baimo::eval {

struct RewardItem {            // one sampled answer to score
  nlohmann::json messages;     // the prompt conversation (array of {role, content})
  std::string prompt;          // the prompt's text (last user message)
  std::string completion;      // the generated answer (stop strings removed)
  std::string answer;          // the reference answer, "" when the data has none
  bool stopped = false;        // ended with end-of-turn
  int64_t tokens = 0;          // generated tokens
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  virtual const std::string& name() const = 0;
  // One finite number per item, or baimo::Error.
  virtual std::vector<float> score(std::span<const RewardItem> items) = 0;
};

struct RewardContext {
  std::string chat_template;  // model: "" = the reward model's own, else chatml / llama3 / plain
  int64_t batch = 8;          // model: conversations per forward
  double timeout_s = 300;     // command: the most one run may take; url: per request
  std::string api_key;        // url: sent as "Authorization: Bearer ..." when not empty
};

struct WeightedReward {
  std::unique_ptr<RewardFunction> fn;
  float weight = 1;
};

// Parses --reward specs (NAME[:ARG][@WEIGHT]), in order.
std::vector<WeightedReward> parse_rewards(std::span<const std::string> specs, const RewardContext& ctx = {});

// Sum of weight * score per item, plus each function's raw scores (for logging "reward/<name>").
struct RewardScores {
  std::vector<float> total;
  std::vector<std::pair<std::string, std::vector<float>>> parts;
};
RewardScores score_rewards(std::span<WeightedReward> fns, std::span<const RewardItem> items);

// The JSON object command and url send for an item (they dump it with invalid UTF-8 replaced).
nlohmann::json reward_item_json(const RewardItem& item);

}  // namespace baimo::eval
