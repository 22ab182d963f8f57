#include "baimo/eval/reward_scores.h"

#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/infer/inference_model.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/model/reward_model.h"
#include "baimo/util/error.h"

namespace baimo {

RewardScorer load_reward_scorer(const std::string& dir, const std::string& chat_template) {
  if (!open_model(dir).is_dir())
    fail("{}: a reward model is a model directory (config.json + model.safetensors), not a file", dir);
  require_reward_model(load_model_dir_config(dir), dir);
  const std::string tok_path = model_dir_tokenizer(dir);
  if (tok_path.empty()) fail("{}: no tokenizer.json in the model directory", dir);
  RewardScorer s;
  s.model = std::make_shared<const Transformer>(Transformer::load(dir));
  s.tokenizer = std::make_shared<const Tokenizer>(load_tokenizer(tok_path));
  if (static_cast<int64_t>(s.tokenizer->vocab_size()) > s.config().vocab_size)
    fail("{}: the tokenizer has {} ids but the model's vocab_size is {}", tok_path, s.tokenizer->vocab_size(),
         s.config().vocab_size);
  s.chat_template = chat_template.empty() ? detect_chat_template(model_dir_chat_template(dir), *s.tokenizer)
                                          : chat_template_from_name(chat_template);
  return s;
}

std::vector<int32_t> encode_conversation(const RewardScorer& s, std::span<const ChatMessage> messages) {
  const RenderedChat r = render_chat_ids(*s.tokenizer, s.chat_template, messages);
  std::vector<int32_t> ids(r.ids.begin(), r.ids.end());
  // Ending with an answer: cut after its end-of-turn token (ChatML's "\n" after <|im_end|> is not part
  // of the turn), the position `baimo rm train` scores.
  if (!messages.empty() && messages.back().role == "assistant" && !r.assistant_spans.empty())
    ids.resize(r.assistant_spans.back().end);
  prepend_bos_once(*s.tokenizer, ids);
  return ids;
}

std::vector<float> score_conversations(const RewardScorer& s, const std::vector<std::vector<ChatMessage>>& conversations,
                                       int64_t batch) {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(conversations.size());
  for (const auto& c : conversations) seqs.push_back(encode_conversation(s, c));
  return score_sequences(*s.model, seqs, batch);
}

}  // namespace baimo
