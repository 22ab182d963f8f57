// The reward kinds computed from the item alone: match, regex, json, length, stop (eval/rewards.h).
#include <charconv>
#include <regex>

#include "baimo/eval/extract.h"
#include "baimo/eval/reward_kinds.h"
#include "baimo/util/error.h"
#include "baimo/util/trim.h"

namespace baimo::eval {
namespace {

void no_arg(const std::string& kind, const std::string& arg) {
  if (!arg.empty()) fail("the {} reward takes no argument (got '{}')", kind, arg);
}

// An item -> one score; the kinds below differ only in this.
template <class F>
class ItemReward : public NamedReward {
 public:
  ItemReward(std::string name, F f) : NamedReward(std::move(name)), f_(std::move(f)) {}
  std::vector<float> score(std::span<const RewardItem> items) override {
    std::vector<float> s;
    s.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) s.push_back(f_(items[i], i));
    return s;
  }

 private:
  F f_;
};

template <class F>
std::unique_ptr<RewardFunction> item_reward(std::string name, F f) {
  return std::make_unique<ItemReward<F>>(std::move(name), std::move(f));
}

bool parses_as_json(std::string_view s) {
  return !s.empty() && nlohmann::json::accept(s.begin(), s.end());
}

}  // namespace

std::unique_ptr<RewardFunction> make_match_reward(std::string name, const std::string& arg) {
  GenExample e;
  if (arg.empty() || arg == "last_number") e.extract = ExtractKind::LastNumber;
  else if (arg == "exact") e.extract = ExtractKind::Exact;
  else if (arg.starts_with("regex:") && arg.size() > 6) e.extract = ExtractKind::Regex, e.pattern = arg.substr(6);
  else if (arg.starts_with("json:") && arg.size() > 5) e.extract = ExtractKind::JsonField, e.pattern = arg.substr(5);
  else fail("match: unknown extractor '{}' (expected last_number, exact, regex:PATTERN or json:FIELD)", arg);
  if (e.extract == ExtractKind::Regex) extract_regex("", e.pattern);  // a bad pattern fails here
  const std::string n = name;
  return item_reward(std::move(name), [e, n](const RewardItem& item, size_t i) mutable {
    if (item.answer.empty())
      fail("reward {}: item {} has no reference answer to match (prompt: '{}')", n, i, item.prompt.substr(0, 80));
    e.answer = item.answer;
    return check_answer(e, item.completion).correct ? 1.0f : 0.0f;
  });
}

std::unique_ptr<RewardFunction> make_regex_reward(std::string name, const std::string& arg) {
  if (arg.empty()) fail("regex: give a pattern (regex:PATTERN)");
  std::regex re;
  try {
    re = std::regex(arg, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("regex: '{}' is not a valid regular expression: {}", arg, e.what());
  }
  return item_reward(std::move(name), [re](const RewardItem& item, size_t) {
    return std::regex_search(item.completion, re) ? 1.0f : 0.0f;
  });
}

std::unique_ptr<RewardFunction> make_json_reward(std::string name, const std::string& arg) {
  no_arg("json", arg);
  return item_reward(std::move(name), [](const RewardItem& item, size_t) {
    std::string_view t = trim_space(item.completion);
    if (parses_as_json(t)) return 1.0f;
    // One fenced block: ```json ... ``` (or ``` ... ```), nothing around it.
    if (t.size() < 6 || !t.starts_with("```") || !t.ends_with("```")) return 0.0f;
    t = t.substr(3, t.size() - 6);
    if (t.starts_with("json")) t.remove_prefix(4);
    if (t.find("```") != std::string_view::npos) return 0.0f;
    return parses_as_json(trim_space(t)) ? 1.0f : 0.0f;
  });
}

std::unique_ptr<RewardFunction> make_length_reward(std::string name, const std::string& arg) {
  int64_t max = 0;
  const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), max);
  if (arg.empty() || ec != std::errc() || end != arg.data() + arg.size() || max <= 0)
    fail("length: MAX must be a positive whole number of tokens (length:MAX), got '{}'", arg);
  return item_reward(std::move(name), [max](const RewardItem& item, size_t) {
    return item.tokens <= max ? 0.0f : -static_cast<float>(item.tokens - max) / static_cast<float>(max);
  });
}

std::unique_ptr<RewardFunction> make_stop_reward(std::string name, const std::string& arg) {
  no_arg("stop", arg);
  return item_reward(std::move(name), [](const RewardItem& item, size_t) { return item.stopped ? 1.0f : 0.0f; });
}

}  // namespace baimo::eval
