// The model:DIR reward kind (eval/rewards.h): a reward model in process, eval/reward_scores.h.
#include "baimo/eval/reward_kinds.h"
#include "baimo/eval/reward_scores.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

class ModelReward : public NamedReward {
 public:
  ModelReward(std::string name, RewardScorer scorer, int64_t batch)
      : NamedReward(std::move(name)), scorer_(std::move(scorer)), batch_(batch) {}

  std::vector<float> score(std::span<const RewardItem> items) override {
    std::vector<std::vector<ChatMessage>> convs;
    convs.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const nlohmann::json& m = items[i].messages;
      if (!m.is_array()) fail("reward {}: item {}: messages is not an array of {{role, content}}", name(), i);
      std::vector<ChatMessage> c;
      for (size_t k = 0; k < m.size(); ++k) {
        if (!m[k].is_object() || !m[k].contains("role") || !m[k]["role"].is_string() || !m[k].contains("content") ||
            !m[k]["content"].is_string())
          fail("reward {}: item {}: messages[{}] is not a {{\"role\": string, \"content\": string}} object", name(), i, k);
        c.push_back({m[k]["role"].get<std::string>(), m[k]["content"].get<std::string>()});
      }
      c.push_back({"assistant", items[i].completion});
      convs.push_back(std::move(c));
    }
    try {
      return score_conversations(scorer_, convs, batch_);
    } catch (const Error& e) {
      fail("reward {}: {}", name(), e.what());
    }
  }

 private:
  RewardScorer scorer_;
  int64_t batch_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_model_reward(std::string name, const std::string& arg, const RewardContext& ctx) {
  if (arg.empty()) fail("model: give a reward model directory (model:DIR)");
  if (ctx.batch < 1) fail("model: the batch size must be at least 1, got {}", ctx.batch);
  return std::make_unique<ModelReward>(std::move(name), load_reward_scorer(arg, ctx.chat_template), ctx.batch);
}

}  // namespace baimo::eval
