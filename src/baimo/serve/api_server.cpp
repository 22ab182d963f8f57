#include "baimo/serve/api_server.h"

#include <httplib.h>

#include <algorithm>
#include <thread>

#include "baimo/eval/reward_scores.h"
#include "baimo/model/reward_model.h"
#include "baimo/serve/api_error.h"
#include "baimo/serve/choice_assembler.h"
#include "baimo/serve/guarded_http_server.h"
#include "baimo/serve/http_checks.h"
#include "baimo/serve/peer_socket.h"
#include "baimo/serve/sse.h"
#include "baimo/serve/web_assets.h"
#include "baimo/util/error.h"

namespace baimo::serve {
namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Constant-time comparison of the presented key with the configured one.
bool same_key(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

// Metric label for a path: the known routes, everything else "other" (bounded cardinality).
std::string route_label(const std::string& path) {
  for (const char* r : {"/v1/chat/completions", "/v1/completions", "/v1/rewards", "/v1/models", "/health", "/metrics"})
    if (path == r) return r;
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
  if (find_web_asset(path)) return "/ (web)";
  return "other";
}

std::string new_id(Endpoint e) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  return fmt::format("{}-{:x}{:06x}", e == Endpoint::Chat ? "chatcmpl" : "cmpl", boot & 0xffffffffffULL,
                     counter.fetch_add(1));
}

// 400 for a route the served model's kind does not have: generation on a reward model, or
// /v1/rewards on a chat model.
ApiError wrong_model_kind(const ModelContext& m, bool reward_model) {
  return ApiError(400,
                  reward_model ? fmt::format("The model '{}' is a reward model ({}): it scores conversations and does "
                                             "not generate. Use POST /v1/rewards.",
                                             m.model_id, m.architecture)
                               : fmt::format("The model '{}' is a chat model ({}): it has no score head, so "
                                             "/v1/rewards is not available. Serve a reward model (baimo rm) for rewards.",
                                             m.model_id, m.architecture),
                  "invalid_request_error", "model", "wrong_model_kind");
}

// Conversations per scoring forward of /v1/rewards.
constexpr int64_t kRewardBatch = 8;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Decrements the in-flight count when the last owner (handler or stream) lets go.
struct InFlight {
  std::atomic<int>& n;
  explicit InFlight(std::atomic<int>& c) : n(c) { n.fetch_add(1); }
  ~InFlight() { n.fetch_sub(1); }
};

// Speculative decoding counters of the scheduler (--draft-ngram), Prometheus text.
std::string speculative_metrics(const BatchScheduler& s) {
  const int64_t drafted = s.drafted_tokens(), accepted = s.accepted_tokens();
  const int64_t passes = s.decode_passes(), decoded = s.decoded_tokens();
  return fmt::format(
      "# HELP baimo_draft_tokens_total Draft tokens checked by the model (speculative decoding).\n"
      "# TYPE baimo_draft_tokens_total counter\nbaimo_draft_tokens_total {}\n"
      "# HELP baimo_draft_accepted_tokens_total Draft tokens the model accepted.\n"
      "# TYPE baimo_draft_accepted_tokens_total counter\nbaimo_draft_accepted_tokens_total {}\n"
      "# HELP baimo_draft_acceptance_ratio Accepted / checked draft tokens since start.\n"
      "# TYPE baimo_draft_acceptance_ratio gauge\nbaimo_draft_acceptance_ratio {:.4f}\n"
      "# HELP baimo_tokens_per_target_pass Decoded tokens per slot and forward pass since start.\n"
      "# TYPE baimo_tokens_per_target_pass gauge\nbaimo_tokens_per_target_pass {:.4f}\n",
      drafted, accepted, drafted ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0.0,
      passes ? static_cast<double>(decoded) / static_cast<double>(passes) : 0.0);
}

}  // namespace

ApiServer::ApiServer(BatchScheduler& scheduler, ModelContext model, ServeOptions options)
    : scheduler_(&scheduler), model_(std::move(model)), options_(std::move(options)), started_unix_(unix_now()) {
  // One client address alone never takes every thread.
  start(std::max(std::clamp(2 * (scheduler.n_slots() + static_cast<int>(scheduler.queue_capacity())) + 16, 64, 1024),
                 options_.max_client_connections + 64));
}

ApiServer::ApiServer(std::shared_ptr<const RewardScorer> rewards, ModelContext model, ServeOptions options)
    : rewards_(std::move(rewards)), model_(std::move(model)), options_(std::move(options)), started_unix_(unix_now()) {
  start(std::max(64, options_.max_client_connections + 64));
}

void ApiServer::start(int http_threads) {
  ConnectionLimits limits;
  limits.stream.head_timeout = options_.head_timeout;
  limits.stream.body_timeout = options_.body_timeout;
  limits.max_client_connections = options_.max_client_connections;
  http_ = std::make_unique<GuardedHttpServer>(limits, [this] { metrics_.count_request("connection", 429); });
  const int threads = options_.http_threads > 0 ? options_.http_threads : http_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_timeout(5);
  routes();
}

ApiServer::~ApiServer() = default;

int ApiServer::bind() { return http_->bind(options_.host, options_.port, options_.reuse_port); }

void ApiServer::listen() { http_->listen_after_bind(); }

void ApiServer::shutdown(std::chrono::milliseconds grace) {
  draining_.store(true);
  const auto deadline = Clock::now() + grace;
  while (in_flight_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  http_->stop();
}

void ApiServer::send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  res.set_content(error_body(e), "application/json");
}

bool ApiServer::authorized(const httplib::Request& req, httplib::Response& res) {
  if (options_.api_key.empty()) return true;
  const std::string key = bearer_key(req.get_header_value("Authorization")).value_or("");
  if (key.empty()) {
    send_error(res, ApiError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
                             "invalid_request_error", "", "missing_api_key"));
    return false;
  }
  if (!same_key(key, options_.api_key)) {
    send_error(res, ApiError(401, "Incorrect API key provided.", "invalid_request_error", "", "invalid_api_key"));
    return false;
  }
  return true;
}

void ApiServer::routes() {
  auto& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::vector<std::string> lengths, encodings;
    for (size_t i = 0; i < req.get_header_value_count("Content-Length"); ++i)
      lengths.push_back(req.get_header_value("Content-Length", i));
    for (size_t i = 0; i < req.get_header_value_count("Transfer-Encoding"); ++i)
      encodings.push_back(req.get_header_value("Transfer-Encoding", i));
    if (auto e = body_framing_error(lengths, encodings, options_.max_body_bytes)) {
      send_error(res, *e);  // the body is never read: the connection closes after this answer
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string allowed = allowed_methods(req.path);
    if (!allowed.empty() && (", " + allowed + ",").find(", " + req.method + ",") == std::string::npos) {
      res.set_header("Allow", allowed);
      send_error(res, ApiError(405, fmt::format("Method {} is not allowed on {}: use {}.", req.method, req.path, allowed),
                               "invalid_request_error", "", "method_not_allowed"));
      return httplib::Server::HandlerResponse::Handled;
    }
    bool protected_path = req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics";
    if (protected_path && !authorized(req, res)) return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib produces itself (no route, body too large) get OpenAI's shape too.
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.status = GuardedHttpServer::failure_status(GuardedHttpServer::current_failure(), res.status);
    if (res.status == 431)
      send_error(res, ApiError(431, "The request's headers are too large (at most 100 header lines, 64 KiB).",
                               "invalid_request_error", "", "request_header_fields_too_large"));
    else if (res.status == 408)
      send_error(res, ApiError(408, "The request was not received in time.", "invalid_request_error", "",
                               "request_timeout"));
    else if (res.status == 413)
      send_error(res, ApiError(413, fmt::format("The request body is larger than the limit of {} bytes.",
                                                options_.max_body_bytes),
                               "invalid_request_error", "", "request_too_large"));
    else if (res.status == 404)
      send_error(res, ApiError(404, fmt::format("Unknown request URL: {} {}.", req.method, req.path),
                               "invalid_request_error", "", "unknown_url"));
    else
      send_error(res, ApiError(res.status, fmt::format("HTTP error {}.", res.status), "invalid_request_error"));
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, "Internal server error: " + what, "server_error"));
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.count_request(route_label(req.path), res.status);
  });

  s.Post("/v1/chat/completions",
         [this](const httplib::Request& req, httplib::Response& res) { handle_completion(req, res, Endpoint::Chat); });
  s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_completion(req, res, Endpoint::Completion);
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump_json(models_json(model_.model_id, started_unix_)), "application/json");
  });
  s.Get("/v1/models/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    if (id != model_.model_id)
      return send_error(res, ApiError(404, fmt::format("The model '{}' does not exist.", id), "invalid_request_error",
                                      "model", "model_not_found"));
    res.set_content(dump_json(models_json(model_.model_id, started_unix_)["data"][0]), "application/json");
  });
  s.Post("/v1/rewards", [this](const httplib::Request& req, httplib::Response& res) { handle_rewards(req, res); });
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    json h = {{"status", draining_ ? "shutting_down" : "ok"},
              {"model", model_.model_id},
              {"slots", scheduler_ ? scheduler_->n_slots() : 0},
              {"active_slots", scheduler_ ? scheduler_->active_slots() : 0},
              {"queue_length", scheduler_ ? scheduler_->queue_length() : 0},
              {"ctx", scheduler_ ? scheduler_->ctx() : model_.ctx}};
    if (rewards_) h["kind"] = "reward_model";
    if (draining_) res.status = 503;
    res.set_content(dump_json(h), "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string text = scheduler_ ? metrics_.prometheus_text(scheduler_->queue_length(), scheduler_->active_slots(),
                                                             scheduler_->n_slots())
                                  : metrics_.prometheus_text(0, 0, 0);
    if (scheduler_ && scheduler_->speculative()) text += speculative_metrics(*scheduler_);
    res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/(|index\\.html|chat\\.js|markdown\\.js|style\\.css)", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = find_web_asset(req.path);
    if (!a) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(a->bytes), std::string(a->mime_type));
  });
}

void ApiServer::handle_completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  auto in_flight = std::make_shared<InFlight>(in_flight_);
  std::shared_ptr<RequestChannel> channel;
  CompletionRequest r;
  std::vector<int32_t> echo_ids;  // the prompt, kept for echo
  std::optional<ToolCallFormat> tool_calls;
  try {
    if (draining_) throw ApiError(503, "The server is shutting down.", "server_error", "", "shutting_down");
    if (!scheduler_) throw wrong_model_kind(model_, true);
    r = parse_completion_request(req.body, endpoint);
    PreparedGeneration p = prepare_generation(r, model_);
    if (r.echo) echo_ids = p.prompt;
    tool_calls = p.tool_calls;
    channel = scheduler_->submit(std::move(p.prompt), std::move(p.options), r.n);
    if (!channel)
      throw ApiError(429,
                     fmt::format("The server is busy: {} requests are already waiting for a slot. Retry after a second.",
                                 scheduler_->queue_length()),
                     "rate_limit_error", "", "rate_limit_exceeded");
  } catch (const ApiError& e) {
    return send_error(res, e);
  } catch (const Error& e) {  // bad input found below the API layer (tokenizer, scheduler)
    return send_error(res, ApiError(400, e.what(), "invalid_request_error"));
  }
  metrics_.add_tokens(channel->prompt_tokens(), 0);
  ResponseMeta meta{endpoint, new_id(endpoint), unix_now(), model_.model_id, r.logprobs, r.include_usage, tool_calls};
  auto assembler = std::make_shared<ChoiceAssembler>(meta, r.n, *model_.tokenizer);
  auto observe = [this, channel, assembler](const SeqEvent& e) {
    double gap = assembler->gap_seconds(e);
    if (gap >= 0) metrics_.observe_inter_token(gap);
    else metrics_.observe_ttft(std::chrono::duration<double>(e.time - channel->created()).count());
  };

  if (!r.stream) {
    // Nothing is written before the end, so a gone client is noticed on its socket instead:
    // checked every 100 ms; its request is cancelled, which frees the slot.
    const int peer = find_peer_socket(req.remote_addr, req.remote_port, req.local_port);
    std::vector<SeqEvent> events;
    auto next_check = Clock::now();
    while (channel->wait(events, std::chrono::milliseconds(100))) {
      for (const auto& e : events) observe(e), assembler->add_event(e);
      events.clear();
      if (peer >= 0 && Clock::now() >= next_check) {
        next_check = Clock::now() + std::chrono::milliseconds(100);
        if (peer_closed(peer)) {
          if (!channel->over()) metrics_.count_disconnect();
          metrics_.add_tokens(0, assembler->completion_tokens());
          channel->cancel();
          return;  // nobody reads the answer
        }
      }
    }
    metrics_.add_tokens(0, assembler->completion_tokens());
    if (!assembler->all_finished()) {
      std::string err = channel->error();
      return send_error(res, draining_ || err.find("shutting down") != std::string::npos
                                 ? ApiError(503, "The server is shutting down.", "server_error", "", "shutting_down")
                                 : ApiError(500, "Generation failed: " + err, "server_error"));
    }
    if (r.echo) {
      const Tokenizer& tok = *model_.tokenizer;
      const auto bos = tok.bos_id();
      const bool text_prompt = !r.prompt_tokens;
      const bool bos_added = text_prompt && bos && !echo_ids.empty() && echo_ids[0] == static_cast<int32_t>(*bos) &&
                             !r.prompt.starts_with(tok.token_bytes(*bos));
      std::string text = r.prompt;
      if (!text_prompt) {
        text.clear();
        for (int32_t id : echo_ids)
          if (!tok.is_special(static_cast<uint32_t>(id))) text += tok.token_bytes(static_cast<uint32_t>(id));
      }
      assembler->echo_prompt(text, echo_ids, channel->prompt_logprobs(), text_prompt, bos_added);
    }
    res.set_content(dump_json(assembler->whole(channel->prompt_tokens())), "application/json");
    return;
  }

  struct StreamState {
    std::vector<SeqEvent> events;
    std::string out;
    Clock::time_point last_write = Clock::now();
    bool ended = false;
  };
  auto st = std::make_shared<StreamState>();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, channel, assembler, st, observe, in_flight](size_t, httplib::DataSink& sink) {
        st->events.clear();
        st->out.clear();
        bool more = channel->wait(st->events, std::chrono::milliseconds(250));
        for (const auto& e : st->events) observe(e), assembler->stream_event(e, st->out);
        if (!more) {
          if (assembler->all_finished()) {
            assembler->stream_end(channel->prompt_tokens(), st->out);
          } else {  // failed mid-stream: an error event, as OpenAI streams errors
            ApiError e(500, "Generation failed: " + channel->error(), "server_error");
            st->out += sse_event(error_json(e));
          }
          metrics_.add_tokens(0, assembler->completion_tokens());
          st->ended = true;
          bool ok = sink.write(st->out.data(), st->out.size());
          sink.done();
          return ok;
        }
        // Write at least once a second: a gone client makes the write fail.
        if (st->out.empty() && Clock::now() - st->last_write > std::chrono::seconds(1)) st->out = kSseKeepAlive;
        if (!st->out.empty()) {
          st->last_write = Clock::now();
          if (!sink.write(st->out.data(), st->out.size())) return false;  // releaser cancels
        }
        return true;
      },
      [this, channel, st, in_flight](bool success) {
        if (!st->ended || !success) {
          if (!channel->over()) metrics_.count_disconnect();
          channel->cancel();
        }
      });
}

void ApiServer::handle_rewards(const httplib::Request& req, httplib::Response& res) {
  InFlight in_flight(in_flight_);
  try {
    if (draining_) throw ApiError(503, "The server is shutting down.", "server_error", "", "shutting_down");
    if (!rewards_) throw wrong_model_kind(model_, false);
    const RewardRequest r = parse_reward_request(req.body);
    if (!r.model.empty() && r.model != model_.model_id)
      throw ApiError(404, fmt::format("The model '{}' does not exist.", r.model), "invalid_request_error", "model",
                     "model_not_found");
    std::vector<std::vector<int32_t>> seqs;
    int64_t prompt_tokens = 0;
    for (size_t i = 0; i < r.conversations.size(); ++i) {
      std::vector<ChatMessage> messages;
      for (const RequestMessage& m : r.conversations[i]) messages.push_back({m.role, m.content});
      seqs.push_back(encode_conversation(*rewards_, messages));
      const auto n = static_cast<int64_t>(seqs.back().size());
      if (n > model_.ctx)
        throw ApiError(400,
                       fmt::format("This model's maximum context length is {} tokens. However, conversation {} has "
                                   "{} tokens. Please reduce the length of the messages.",
                                   model_.ctx, i, n),
                       "invalid_request_error", r.conversations.size() == 1 ? "messages" : fmt::format("input[{}]", i),
                       "context_length_exceeded");
      prompt_tokens += n;
    }
    std::vector<float> rewards;
    {
      std::lock_guard<std::mutex> lock(reward_mutex_);
      rewards = score_sequences(*rewards_->model, seqs, kRewardBatch);
    }
    metrics_.add_tokens(prompt_tokens, 0);
    json data = json::array();
    for (size_t i = 0; i < rewards.size(); ++i)
      data.push_back({{"object", "reward"}, {"index", i}, {"reward", rewards[i]}});
    res.set_content(dump_json({{"object", "list"},
                               {"model", model_.model_id},
                               {"data", data},
                               {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}}),
                    "application/json");
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {  // bad input found below the API layer (tokenizer, model)
    send_error(res, ApiError(400, e.what(), "invalid_request_error"));
  }
}

}  // namespace baimo::serve
