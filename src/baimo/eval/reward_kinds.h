// The reward kinds of eval/rewards.h, one factory each (parse_rewards picks one by the spec's NAME
// and hands it the ARG text; the contract of each kind is in rewards.h). `name` is what name()
// returns. Each checks its ARG here, so a bad spec fails before any scoring.
#pragma once
#include <memory>
#include <string>

#include "baimo/eval/rewards.h"

namespace baimo::eval {

// A RewardFunction with a fixed name.
class NamedReward : public RewardFunction {
 public:
  explicit NamedReward(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
};

std::unique_ptr<RewardFunction> make_match_reward(std::string name, const std::string& arg);
std::unique_ptr<RewardFunction> make_regex_reward(std::string name, const std::string& arg);
std::unique_ptr<RewardFunction> make_json_reward(std::string name, const std::string& arg);
std::unique_ptr<RewardFunction> make_length_reward(std::string name, const std::string& arg);
std::unique_ptr<RewardFunction> make_stop_reward(std::string name, const std::string& arg);
std::unique_ptr<RewardFunction> make_model_reward(std::string name, const std::string& arg, const RewardContext& ctx);
std::unique_ptr<RewardFunction> make_command_reward(std::string name, const std::string& arg, const RewardContext& ctx);
std::unique_ptr<RewardFunction> make_url_reward(std::string name, const std::string& arg, const RewardContext& ctx);

}  // namespace baimo::eval
