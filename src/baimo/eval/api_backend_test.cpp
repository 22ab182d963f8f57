#include "baimo/eval/api_backend.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "baimo/util/error.h"
#include "baimo/util/error_of.h"

namespace baimo::eval {
namespace api_backend_test {
using json = nlohmann::json;

// A canned OpenAI-style server on a loopback port: /v1/models lists "m"; /v1/completions answers
// with what `mode` says.
struct FakeServer {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::atomic<int> mode{0};  // 0: a good echo answer, 1: HTTP 500, 2: no logprobs, 3: not JSON
  std::atomic<int> requests{0};
  FakeServer() {
    http.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"object": "list", "data": [{"id": "m", "object": "model"}]})", "application/json");
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      const json body = json::parse(req.body);
      if (mode == 1) {
        res.status = 500;
        res.set_content(R"({"error": {"message": "boom", "type": "server_error"}})", "application/json");
      } else if (mode == 2) {
        res.set_content(R"({"choices": [{"index": 0, "text": "x", "finish_reason": "length", "logprobs": null}]})",
                        "application/json");
      } else if (mode == 3) {
        res.set_content("<html>", "text/html");
      } else {
        // Byte tokens with log-prob -1 each; the prompt is echoed.
        const std::string p = body["prompt"].get<std::string>();
        json tokens = json::array(), lps = json::array(), offsets = json::array();
        for (size_t i = 0; i < p.size(); ++i) {
          tokens.push_back(std::string(1, p[i]));
          lps.push_back(i == 0 ? json(nullptr) : json(-1.0));
          offsets.push_back(i);
        }
        res.set_content(json({{"choices", {{{"index", 0}, {"text", p}, {"finish_reason", "length"},
                                            {"logprobs", {{"tokens", tokens}, {"token_logprobs", lps}, {"text_offset", offsets}}}}}}})
                            .dump(),
                        "application/json");
      }
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    http.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};

TEST(ApiBackend, ScoresChoicesAfterTheContextAndNamesUrlAndFieldOnErrors) {
  FakeServer server;
  ApiOptions o;
  o.url = server.url() + "/";
  o.concurrency = 3;
  ApiBackend b(o);
  EXPECT_EQ(b.model(), "m");  // the first listed
  // "Q:" + " ab" / " abcd": the continuation's bytes (the moved space included) at -1 each.
  std::vector<McItem> items = {{"Q: ", {"ab", "abcd"}}, {"R:", {" x", " yz"}}};
  int64_t last = 0;
  auto r = b.score_mc(items, [&](int64_t done) { last = done; });
  EXPECT_EQ(last, 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].result.loglik, (std::vector<double>{-3.0, -5.0}));
  EXPECT_EQ(r[0].result.pred, 0);
  EXPECT_EQ(r[0].result.pred_norm, 0);  // -3/3 > -5/5? equal: the first on ties
  EXPECT_EQ(r[1].result.loglik, (std::vector<double>{-2.0, -3.0}));
  EXPECT_EQ(r[0].log["choice_bytes"], json({3, 5}));
  EXPECT_EQ(server.requests.load(), 4);

  server.mode = 1;
  std::string e = error_of([&] { b.score_mc(items, {}); });
  EXPECT_NE(e.find(server.url() + "/completions: HTTP 500: boom"), std::string::npos) << e;
  server.mode = 2;
  e = error_of([&] { b.score_mc(items, {}); });
  EXPECT_NE(e.find(server.url() + "/completions: the response has no choices[0].logprobs"), std::string::npos) << e;
  server.mode = 3;
  e = error_of([&] { b.score_mc(items, {}); });
  EXPECT_NE(e.find("not JSON"), std::string::npos) << e;
}

TEST(ApiBackend, BadUrlsAndUnreachableServers) {
  ApiOptions o;
  o.url = "ftp://127.0.0.1/v1";
  EXPECT_NE(error_of([&] { ApiBackend b(o); }).find("expected http://"), std::string::npos);
  // A port bound and closed again without listening: nothing answers there.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
    ::close(fd);
  }
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  std::string e = error_of([&] { ApiBackend b(o); });
  EXPECT_NE(e.find(o.url + "/models: cannot reach the server"), std::string::npos) << e;
}

}  // namespace api_backend_test

}  // namespace baimo::eval
