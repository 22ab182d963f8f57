// The url:URL reward kind (eval/rewards.h) against a real cpp-httplib server on 127.0.0.1: the body
// it posts, both response shapes, batches over 256 items, the bearer key, and each error.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "baimo/eval/rewards.h"
#include "baimo/util/error_of.h"

namespace reward_http_test {
using namespace baimo;
using namespace baimo::eval;
using json = nlohmann::json;

struct Server {
  httplib::Server s;
  std::thread t;
  int port = 0;
  std::atomic<int> requests{0};
  Server() {
    // /len: {"rewards": [length of each item's completion]}, checking the body's shape.
    s.Post("/len", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      const json b = json::parse(req.body);
      json r = json::array();
      for (size_t i = 0; i < b["items"].size(); ++i) {
        const json& it = b["items"][i];
        const json& conv = b["input"][i];
        if (conv.back() != json({{"role", "assistant"}, {"content", it["completion"]}}) ||
            conv.size() != it["messages"].size() + 1 || !it.contains("answer") || !it.contains("stopped"))
          return res.set_content(R"({"rewards": "bad body"})", "application/json");
        r.push_back(it["completion"].get<std::string>().size() + it["tokens"].get<int>());
      }
      res.set_content(json({{"rewards", r}}).dump(), "application/json");
    });
    // /data: /v1/rewards' shape, in reverse order; needs the key.
    s.Post("/v1/data", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer sk-1") {
        res.status = 401;
        return res.set_content(R"({"error": {"message": "Incorrect API key provided."}})", "application/json");
      }
      const json b = json::parse(req.body);
      json data = json::array();
      for (size_t i = b["input"].size(); i-- > 0;) data.push_back({{"object", "reward"}, {"index", i}, {"reward", 0.5 * i}});
      res.set_content(json({{"object", "list"}, {"data", data}}).dump(), "application/json");
    });
    s.Post("/fixed", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_param_value("b"), "application/json");
    });
    s.Post("/500", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("overloaded", "text/plain");
    });
    port = s.bind_to_any_port("127.0.0.1");
    t = std::thread([this] { s.listen_after_bind(); });
    while (!s.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Server() {
    s.stop();
    t.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

std::unique_ptr<RewardFunction> url_reward(const std::string& url, const std::string& key = "") {
  RewardContext ctx;
  ctx.api_key = key;
  std::vector<WeightedReward> fns = parse_rewards(std::vector<std::string>{"url:" + url}, ctx);
  return std::move(fns[0].fn);
}

std::vector<RewardItem> items(size_t n) {
  std::vector<RewardItem> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].messages = json::array({{{"role", "user"}, {"content", "几个？"}}});
    v[i].prompt = "几个？";
    v[i].completion = i % 2 ? "三个" : "three";
    v[i].tokens = static_cast<int64_t>(i % 3);
  }
  return v;
}

TEST(RewardUrl, PostsItemsAndConversationsAndReadsEitherShape) {
  Server srv;
  EXPECT_EQ(url_reward(srv.url("/len"))->score(items(3)), std::vector<float>({5, 7, 7}));  // "三个": 6 bytes
  // 600 items: three requests of at most 256.
  srv.requests = 0;
  const std::vector<float> many = url_reward(srv.url("/len"))->score(items(600));
  ASSERT_EQ(many.size(), 600u);
  EXPECT_EQ(many[599], 6 + 599 % 3);
  EXPECT_EQ(srv.requests.load(), 3);
  EXPECT_EQ(url_reward(srv.url("/v1/data"), "sk-1")->score(items(3)), std::vector<float>({0, 0.5f, 1}));
}

TEST(RewardUrl, ErrorsNameTheUrl) {
  Server srv;
  std::string e = error_of([&] { url_reward(srv.url("/v1/data"))->score(items(2)); });
  EXPECT_NE(e.find("reward url " + srv.url("/v1/data") + ": HTTP 401: Incorrect API key provided."),
            std::string::npos) << e;
  e = error_of([&] { url_reward(srv.url("/500"))->score(items(2)); });
  EXPECT_NE(e.find("HTTP 500: overloaded"), std::string::npos) << e;
  e = error_of([&] { url_reward(srv.url("/nowhere"))->score(items(2)); });
  EXPECT_NE(e.find("HTTP 404"), std::string::npos) << e;
  auto fixed = [&](const std::string& body) {
    return error_of([&] { url_reward(srv.url("/fixed?b=" + httplib::detail::encode_query_param(body)))->score(items(2)); });
  };
  EXPECT_NE(fixed("not json").find("the response is not JSON"), std::string::npos);
  EXPECT_NE(fixed(R"({"rewards": [1]})").find("1 rewards for 2 items"), std::string::npos);
  e = fixed(R"({"rewards": [1, "x"]})");
  EXPECT_NE(e.find("the reward of item 1 is not a finite number: \"x\""), std::string::npos) << e;
  EXPECT_NE(fixed(R"({"score": 1})").find("neither \"rewards\""), std::string::npos);
  EXPECT_NE(fixed(R"({"data": [{"index": 0, "reward": 1}, {"index": 0, "reward": 2}]})").find("index 0 repeats"),
            std::string::npos);
  const std::string dead = "http://127.0.0.1:1/r";
  e = error_of([&] { url_reward(dead)->score(items(1)); });
  EXPECT_NE(e.find("reward url " + dead + ": cannot reach the server"), std::string::npos) << e;
}

}  // namespace reward_http_test
