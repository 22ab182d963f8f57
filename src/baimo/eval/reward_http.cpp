// The url:URL reward kind (eval/rewards.h): a reward server over HTTP (cpp-httplib), e.g. `baimo
// serve --model RM`'s POST /v1/rewards.
#include <httplib.h>

#include <cmath>

#include "baimo/eval/reward_kinds.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxPerRequest = 256;  // serve/openai_request.h kMaxRewardConversations

// The rewards of a response body: {"rewards": [x, ...]} or {"data": [{"index", "reward"}, ...]}.
std::vector<float> read_rewards(const json& j, size_t n, const std::string& url) {
  std::vector<const json*> values(n, nullptr);
  if (j.is_object() && j.contains("rewards") && j["rewards"].is_array()) {
    const json& a = j["rewards"];
    if (a.size() != n) fail("{}: the response has {} rewards for {} items", url, a.size(), n);
    for (size_t i = 0; i < n; ++i) values[i] = &a[i];
  } else if (j.is_object() && j.contains("data") && j["data"].is_array()) {
    const json& a = j["data"];
    if (a.size() != n) fail("{}: the response has {} rewards (data) for {} items", url, a.size(), n);
    for (size_t k = 0; k < n; ++k) {
      if (!a[k].is_object() || !a[k].contains("reward")) fail("{}: data[{}] has no \"reward\"", url, k);
      size_t i = k;
      if (a[k].contains("index")) {
        if (!a[k]["index"].is_number_unsigned() || a[k]["index"].get<size_t>() >= n)
          fail("{}: data[{}].index is not an item index below {}: {}", url, k, n, a[k]["index"].dump());
        i = a[k]["index"].get<size_t>();
      }
      if (values[i]) fail("{}: data[{}].index {} repeats", url, k, i);
      values[i] = &a[k]["reward"];
    }
  } else {
    fail("{}: the response has neither \"rewards\": [numbers] nor \"data\": [{{\"reward\"}}]: {}", url,
         j.dump().substr(0, 200));
  }
  std::vector<float> out;
  for (size_t i = 0; i < n; ++i) {
    const json& v = *values[i];
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail("{}: the reward of item {} is not a finite number: {}", url, i, v.dump().substr(0, 100));
    out.push_back(v.get<float>());
  }
  return out;
}

class UrlReward : public NamedReward {
 public:
  UrlReward(std::string name, std::string url, const RewardContext& ctx)
      : NamedReward(std::move(name)), url_(std::move(url)), timeout_s_(ctx.timeout_s), api_key_(ctx.api_key) {
    const size_t scheme = url_.find("://");
    if (scheme == std::string::npos || (url_.substr(0, scheme) != "http" && url_.substr(0, scheme) != "https"))
      fail("url: expected http://HOST:PORT/PATH (or https://), got '{}'", url_);
    const size_t path = url_.find('/', scheme + 3);
    origin_ = url_.substr(0, path);
    path_ = path == std::string::npos ? "/" : url_.substr(path);
    if (origin_.size() <= scheme + 3) fail("url: '{}' has no host", url_);
    if (!httplib::Client(origin_).is_valid()) fail("url: '{}' is not a usable URL", url_);
  }

  std::vector<float> score(std::span<const RewardItem> items) override {
    std::vector<float> out;
    out.reserve(items.size());
    httplib::Client cli(origin_);
    cli.set_connection_timeout(10, 0);
    const auto t = std::chrono::milliseconds(static_cast<int64_t>(timeout_s_ * 1000));
    cli.set_read_timeout(t);
    cli.set_write_timeout(t);
    cli.set_keep_alive(true);
    if (!api_key_.empty()) cli.set_bearer_token_auth(api_key_);
    for (size_t b = 0; b < items.size(); b += kMaxPerRequest) {
      const std::span<const RewardItem> chunk = items.subspan(b, std::min(kMaxPerRequest, items.size() - b));
      json body = {{"items", json::array()}, {"input", json::array()}};
      for (const RewardItem& item : chunk) {
        json j = reward_item_json(item);
        json conv = j["messages"];
        conv.push_back({{"role", "assistant"}, {"content", item.completion}});
        body["items"].push_back(std::move(j));
        body["input"].push_back(std::move(conv));
      }
      httplib::Result res =
          cli.Post(path_, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
      if (!res) fail("reward url {}: cannot reach the server: {}", url_, httplib::to_string(res.error()));
      if (res->status < 200 || res->status >= 300) {
        std::string message = res->body.substr(0, 500);
        const json e = json::parse(res->body, nullptr, false);
        if (e.is_object() && e.contains("error") && e["error"].is_object() && e["error"].contains("message") &&
            e["error"]["message"].is_string())
          message = e["error"]["message"].get<std::string>();
        fail("reward url {}: HTTP {}: {}", url_, res->status, message);
      }
      const json j = json::parse(res->body, nullptr, false);
      if (j.is_discarded()) fail("reward url {}: the response is not JSON: {}", url_, res->body.substr(0, 200));
      for (float x : read_rewards(j, chunk.size(), "reward url " + url_)) out.push_back(x);
    }
    return out;
  }

 private:
  std::string url_, origin_, path_;
  double timeout_s_;
  std::string api_key_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_url_reward(std::string name, const std::string& arg, const RewardContext& ctx) {
  if (!(ctx.timeout_s > 0)) fail("url: the timeout must be positive, got {} s", ctx.timeout_s);
  return std::make_unique<UrlReward>(std::move(name), arg, ctx);
}

}  // namespace baimo::eval
