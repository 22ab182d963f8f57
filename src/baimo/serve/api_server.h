// ApiServer: the OpenAI-compatible HTTP API and the web chat page over a BatchScheduler.
// Routes: POST /v1/chat/completions, POST /v1/completions (JSON or SSE with stream=true),
// GET /v1/models, GET /v1/models/{id}, GET /health, GET /metrics (Prometheus text), and the
// embedded web page at / (web_assets.h).
// A reward model (model/reward_model.h) is served by the second constructor: no scheduler, no
// generation; POST /v1/rewards scores conversations (eval/reward_scores.h, the numbers of
// `baimo rm score`): {"model"?, "messages": [...]} or {"input": [[...], ...]} ->
// {"object": "list", "model", "data": [{"object": "reward", "index", "reward"}], "usage":
// {"prompt_tokens"}}; 400 context_length_exceeded for a conversation longer than the context.
// The chat/completions routes of a reward model, and /v1/rewards of a chat model, are 400s with
// code "wrong_model_kind" naming the model's kind. One scoring forward runs at a time.
// Contract:
// - HTTP threads only parse, validate, enqueue and stream; the scheduler thread runs the model.
// - Errors use OpenAI's shape (api_error.h): 400 bad JSON/field/context length, 401 missing or
//   wrong key (only when api_key is set; /v1/* and /metrics need it, the page and /health do not),
//   404 unknown route or model, 413 body larger than max_body_bytes, 429 + Retry-After when the
//   scheduler's queue is full, 503 while shutting down, 500 for real faults.
// - A streaming client that disconnects is noticed at the next write (token or keep-alive
//   comment, at least once a second) and its request cancelled, which frees its slot. A
//   non-streaming one is noticed on its socket (peer_socket.h), checked every 100 ms; the same
//   follows. Both count in baimo_client_disconnects_total.
// - Connections (guarded_http_server.h): a port already in use is an error ("Address already in
//   use"; SO_REUSEPORT only with reuse_port); at most max_client_connections per client address
//   (more: 429); a request's head must arrive within head_timeout (at most 100 header lines, 64 KiB:
//   else 431) and its body within body_timeout (else 408); listen backlog 1024.
// - Before routing (http_checks.h): a Content-Length that is not a number or conflicts with another
//   or with Transfer-Encoding is a 400, one above max_body_bytes a 413, both before reading the
//   body; a known route with another method is a 405 with Allow; the Authorization scheme
//   "Bearer" is matched case-insensitively.
// - shutdown(grace): new requests get 503, requests in flight get up to `grace` to finish, then the
//   listener closes and listen() returns.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "baimo/infer/batch_scheduler.h"
#include "baimo/serve/api_error.h"
#include "baimo/serve/metrics.h"
#include "baimo/serve/prepare_generation.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace baimo {
struct RewardScorer;
}  // namespace baimo

namespace baimo::serve {

class GuardedHttpServer;

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (bind() returns it)
  std::string api_key;        // empty: no authentication
  size_t max_body_bytes = 8u << 20;
  int http_threads = 0;       // 0: enough for every slot and queue place and one client's
                              // connections, at least 64
  bool reuse_port = false;    // SO_REUSEPORT: let several servers share the port
  int max_client_connections = 128;  // per client address
  std::chrono::milliseconds head_timeout{10000};  // a request's line and headers
  std::chrono::milliseconds body_timeout{30000};  // its body, after the headers
};

class ApiServer {
 public:
  ApiServer(BatchScheduler& scheduler, ModelContext model, ServeOptions options);
  // A reward model: /v1/rewards only (model.tokenizer, chat_template are the scorer's; ctx limits
  // a conversation's tokens).
  ApiServer(std::shared_ptr<const RewardScorer> rewards, ModelContext model, ServeOptions options);
  ~ApiServer();
  // Binds the listening socket; returns the port. Throws baimo::Error when it cannot.
  int bind();
  // Serves until shutdown() (blocks the calling thread).
  void listen();
  void shutdown(std::chrono::milliseconds grace);
  ServerMetrics& metrics() { return metrics_; }

 private:
  void routes();
  void start(int http_threads);  // the HTTP server, its thread pool and the routes
  void handle_rewards(const httplib::Request& req, httplib::Response& res);
  void handle_completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  void send_error(httplib::Response& res, const ApiError& e);

  BatchScheduler* scheduler_ = nullptr;              // a chat model's; null for a reward model
  std::shared_ptr<const RewardScorer> rewards_;      // a reward model's; null for a chat model
  std::mutex reward_mutex_;                          // one scoring forward at a time
  ModelContext model_;
  ServeOptions options_;
  ServerMetrics metrics_;
  std::unique_ptr<GuardedHttpServer> http_;
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};  // completion requests not yet fully answered
  int64_t started_unix_ = 0;
};

}  // namespace baimo::serve
