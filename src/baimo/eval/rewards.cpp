#include "baimo/eval/rewards.h"

#include <cmath>
#include <cstdlib>
#include <cctype>
#include <map>
#include <optional>

#include "baimo/eval/reward_kinds.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

constexpr const char* kKinds =
    "match[:last_number|exact|regex:PAT|json:FIELD], regex:PAT, json, length:MAX, stop, model:DIR, command:CMD, "
    "url:URL";

// "1.5" -> 1.5; nullopt when `s` is not wholly a number.
std::optional<float> parse_float(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<WeightedReward> parse_rewards(std::span<const std::string> specs, const RewardContext& ctx) {
  std::vector<WeightedReward> out;
  std::map<std::string, int> seen;
  for (const std::string& spec : specs) {
    std::string body = spec;
    float weight = 1;
    if (const size_t at = spec.rfind('@'); at != std::string::npos) {
      if (const std::optional<float> w = parse_float(spec.substr(at + 1))) {
        if (!std::isfinite(*w)) fail("--reward {}: the weight {} is not a finite number", spec, spec.substr(at + 1));
        weight = *w;
        body = spec.substr(0, at);
      }
    }
    const size_t colon = body.find(':');
    const std::string kind = body.substr(0, colon);
    const std::string arg = colon == std::string::npos ? "" : body.substr(colon + 1);
    const int n = ++seen[kind];
    std::string name = n == 1 ? kind : kind + "_" + std::to_string(n);
    std::unique_ptr<RewardFunction> fn;
    try {
      if (kind == "match") fn = make_match_reward(std::move(name), arg);
      else if (kind == "regex") fn = make_regex_reward(std::move(name), arg);
      else if (kind == "json") fn = make_json_reward(std::move(name), arg);
      else if (kind == "length") fn = make_length_reward(std::move(name), arg);
      else if (kind == "stop") fn = make_stop_reward(std::move(name), arg);
      else if (kind == "model") fn = make_model_reward(std::move(name), arg, ctx);
      else if (kind == "command") fn = make_command_reward(std::move(name), arg, ctx);
      else if (kind == "url") fn = make_url_reward(std::move(name), arg, ctx);
      else fail("unknown reward kind '{}' (expected {}, each optionally followed by @WEIGHT)", kind, kKinds);
    } catch (const Error& e) {
      fail("--reward {}: {}", spec, e.what());
    }
    out.push_back({std::move(fn), weight});
  }
  return out;
}

RewardScores score_rewards(std::span<WeightedReward> fns, std::span<const RewardItem> items) {
  RewardScores r;
  r.total.assign(items.size(), 0.0f);
  for (WeightedReward& w : fns) {
    std::vector<float> s = w.fn->score(items);
    if (s.size() != items.size())
      fail("reward {}: {} scores for {} items", w.fn->name(), s.size(), items.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (!std::isfinite(s[i])) fail("reward {}: item {}: the score {} is not a finite number", w.fn->name(), i, s[i]);
      r.total[i] += w.weight * s[i];
    }
    r.parts.emplace_back(w.fn->name(), std::move(s));
  }
  return r;
}

nlohmann::json reward_item_json(const RewardItem& item) {
  return {{"messages", item.messages.is_null() ? nlohmann::json::array() : item.messages},
          {"prompt", item.prompt},
          {"completion", item.completion},
          {"answer", item.answer},
          {"stopped", item.stopped},
          {"tokens", item.tokens}};
}

}  // namespace baimo::eval
