#include "baimo/eval/chat_answers.h"

#include <algorithm>
#include <optional>

#include "baimo/eval/batch_generate.h"
#include "baimo/util/error.h"

namespace baimo::eval {

std::vector<ChatAnswer> answer_chats(const InferenceModel& m, const std::vector<std::vector<ChatMessage>>& conversations,
                                     const ChatAnswerOptions& o, const std::function<void(int64_t)>& progress) {
  const int64_t max = m.config().max_position_embeddings;
  if (o.ctx > max) fail("--ctx {} exceeds the model's max_position_embeddings {}", o.ctx, max);
  std::vector<std::vector<int32_t>> prompts;
  prompts.reserve(conversations.size());
  for (const auto& c : conversations) prompts.push_back(encode_chat_prompt(m, c));
  BatchGenerateOptions g;
  g.slots = o.slots;
  g.ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(max, 2048);
  g.max_tokens = o.max_tokens;
  g.temperature = o.temperature;
  g.seed = o.seed;
  g.threads = o.threads;
  g.eos_ids = m.eos_ids;
  const std::string eot_text = chat_end_of_turn(m.chat_template);
  if (!eot_text.empty()) g.stop = {eot_text};
  std::optional<uint32_t> eot;
  if (m.chat_template != ChatTemplateKind::Plain) eot = m.tokenizer->token_to_id(eot_text);
  auto out = batch_generate(m.weights, m.tokenizer, prompts, g, progress);
  std::vector<ChatAnswer> answers;
  answers.reserve(out.size());
  for (auto& samples : out) {
    const GeneratedSample& s = samples.front();
    ChatAnswer a;
    a.text = s.text;
    a.tokens = s.tokens;
    a.ended_turn = s.stopped && (!eot || s.last_id == static_cast<int32_t>(*eot));
    answers.push_back(std::move(a));
  }
  return answers;
}

}  // namespace baimo::eval
