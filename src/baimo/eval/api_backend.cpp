#include "baimo/eval/api_backend.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "baimo/eval/api_response.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {
using json = nlohmann::json;

// One connection to the API; not shared between threads.
class Connection {
 public:
  Connection(const std::string& origin, const std::string& prefix, const ApiOptions& o)
      : cli_(origin), origin_(origin), prefix_(prefix) {
    if (!cli_.is_valid()) fail("{}: not a usable API URL", o.url);
    cli_.set_connection_timeout(10, 0);
    cli_.set_read_timeout(o.timeout_s, 0);
    cli_.set_write_timeout(o.timeout_s, 0);
    cli_.set_keep_alive(true);
    if (!o.api_key.empty()) cli_.set_bearer_token_auth(o.api_key);
  }

  json get(const std::string& path) { return call(path, nullptr); }
  json post(const std::string& path, const json& body) { return call(path, &body); }
  std::string url(const std::string& path) const { return origin_ + prefix_ + path; }

 private:
  json call(const std::string& path, const json* body) {
    const std::string where = url(path);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    for (;;) {
      httplib::Result res = body ? cli_.Post(prefix_ + path, body->dump(), "application/json") : cli_.Get(prefix_ + path);
      if (!res) fail("{}: cannot reach the server: {}", where, httplib::to_string(res.error()));
      if (res->status == 429 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      if (res->status >= 400) {
        std::string message = res->body.substr(0, 500);
        json e = json::parse(res->body, nullptr, false);
        if (e.is_object() && e.contains("error") && e["error"].is_object() && e["error"].contains("message") &&
            e["error"]["message"].is_string())
          message = e["error"]["message"].get<std::string>();
        fail("{}: HTTP {}: {}", where, res->status, message);
      }
      json j = json::parse(res->body, nullptr, false);
      if (j.is_discarded()) fail("{}: the response is not JSON: {}", where, res->body.substr(0, 200));
      return j;
    }
  }

  httplib::Client cli_;
  std::string origin_, prefix_;
};

// Runs job(i, connection) for i in [0, n) on `threads` threads, each with its own connection.
// The first exception stops the others from taking new jobs and is rethrown here.
template <class Job>
void run_parallel(size_t n, int threads, const std::string& origin, const std::string& prefix, const ApiOptions& o,
                  const Job& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&] {
    try {
      Connection c(origin, prefix, o);
      while (!failed.load()) {
        const size_t i = next.fetch_add(1);
        if (i >= n) break;
        job(i, c);
      }
    } catch (...) {
      std::lock_guard lock(mu);
      if (!error) error = std::current_exception();
      failed.store(true);
    }
  };
  const size_t k = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < k; ++t) pool.emplace_back(work);
  if (n > 0) work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// Counts finished items and reports them in increasing order.
struct Done {
  explicit Done(const DoneFn& p) : progress(p) {}
  std::mutex mu;
  int64_t done = 0;
  const DoneFn& progress;
  void one() {
    std::lock_guard lock(mu);
    ++done;
    if (progress) progress(done);
  }
};

constexpr int kMaxN = 16;  // OpenAI's (and baimo serve's) most choices per request

}  // namespace

ApiBackend::ApiBackend(ApiOptions options) : o_(std::move(options)) {
  std::string u = o_.url;
  while (u.ends_with("/")) u.pop_back();
  const size_t scheme = u.find("://");
  if (scheme == std::string::npos || (u.substr(0, scheme) != "http" && u.substr(0, scheme) != "https"))
    fail("--api {}: expected http://HOST:PORT/v1 (or https://)", o_.url);
  const size_t path = u.find('/', scheme + 3);
  origin_ = u.substr(0, path);
  prefix_ = path == std::string::npos ? "" : u.substr(path);
  if (origin_.size() <= scheme + 3) fail("--api {}: no host", o_.url);
  Connection c(origin_, prefix_, o_);
  const json models = c.get("/models");
  if (o_.model.empty()) {
    if (!models.contains("data") || !models["data"].is_array() || models["data"].empty() ||
        !models["data"][0].is_object() || !models["data"][0].contains("id") || !models["data"][0]["id"].is_string())
      fail("{}: the response has no data[0].id (a model name); name the model with --api-model", c.url("/models"));
    o_.model = models["data"][0]["id"].get<std::string>();
  }
}

std::vector<McScored> ApiBackend::score_mc(std::span<const McItem> items, const DoneFn& progress) {
  struct Job {
    size_t item, choice;
  };
  std::vector<Job> jobs;
  std::vector<std::vector<double>> loglik(items.size());
  std::vector<std::atomic<size_t>> left(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].choices.empty()) fail("multiple-choice item {} has no choices", i);
    loglik[i].resize(items[i].choices.size());
    left[i].store(items[i].choices.size());
    for (size_t k = 0; k < items[i].choices.size(); ++k) jobs.push_back({i, k});
  }
  Done done(progress);
  run_parallel(jobs.size(), o_.concurrency, origin_, prefix_, o_, [&](size_t j, Connection& c) {
    const McItem& it = items[jobs[j].item];
    const std::string prompt = it.context + it.choices[jobs[j].choice];
    const json body = {{"model", o_.model}, {"prompt", prompt}, {"echo", true}, {"logprobs", 0},
                       {"max_tokens", 0},   {"temperature", 0}};
    const json r = c.post("/completions", body);
    loglik[jobs[j].item][jobs[j].choice] =
        continuation_loglik(r, split_context(it.context).context.size(), prompt.size(), c.url("/completions"));
    if (left[jobs[j].item].fetch_sub(1) == 1) done.one();
  });
  std::vector<McScored> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ContextSplit split = split_context(items[i].context);
    std::vector<int64_t> bytes, chars;
    for (const std::string& ch : items[i].choices) {
      const std::string cont = split.moved + ch;
      bytes.push_back(static_cast<int64_t>(cont.size()));
      chars.push_back(utf8_chars(cont));
    }
    out[i].result = mc_result(std::move(loglik[i]), bytes, chars);
    out[i].log = {{"choice_bytes", bytes}, {"choice_chars", chars}};
  }
  return out;
}

GenOutput ApiBackend::generate(std::span<const GenPrompt> prompts, const GenSettings& s, const DoneFn& progress) {
  if (s.samples < 1) fail("samples must be >= 1, got {}", s.samples);
  struct Job {
    size_t prompt;
    int first, n;  // samples [first, first + n)
  };
  std::vector<Job> jobs;
  GenOutput out;
  out.samples.resize(prompts.size(), std::vector<GeneratedSample>(static_cast<size_t>(s.samples)));
  std::vector<std::atomic<int>> left(prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    left[p].store(s.samples);
    for (int f = 0; f < s.samples; f += kMaxN) jobs.push_back({p, f, std::min(kMaxN, s.samples - f)});
    if (prompts[p].raw) {
      out.prompt_log.emplace_back(prompts[p].text);
    } else {
      json m = json::array();
      for (const ChatMessage& msg : prompts[p].messages) m.push_back({{"role", msg.role}, {"content", msg.content}});
      out.prompt_log.push_back(std::move(m));
    }
  }
  Done done(progress);
  run_parallel(jobs.size(), o_.concurrency, origin_, prefix_, o_, [&](size_t j, Connection& c) {
    const Job& job = jobs[j];
    const GenPrompt& p = prompts[job.prompt];
    json body = {{"model", o_.model},
                 {"max_tokens", s.max_tokens},
                 {"temperature", s.temperature},
                 {"n", job.n},
                 {"seed", s.seed + job.prompt * static_cast<uint64_t>(s.samples) + static_cast<uint64_t>(job.first)}};
    // Not an OpenAI field: vLLM's and baimo serve's extension, sent only when asked for.
    if (s.repetition_penalty != 1.0f) body["repetition_penalty"] = s.repetition_penalty;
    std::string path;
    if (p.raw) {
      path = "/completions";
      body["prompt"] = p.text;
      body["stop"] = json::array({"\n"});
      body["logprobs"] = 0;
    } else {
      path = "/chat/completions";
      body["messages"] = out.prompt_log[job.prompt];
      body["logprobs"] = true;
    }
    const std::vector<ApiSample> got = generation_samples(c.post(path, body), !p.raw, job.n, c.url(path));
    for (int k = 0; k < job.n; ++k) {
      GeneratedSample& g = out.samples[job.prompt][static_cast<size_t>(job.first + k)];
      g.text = got[static_cast<size_t>(k)].text;
      g.tokens = got[static_cast<size_t>(k)].tokens;
      g.stopped = got[static_cast<size_t>(k)].stopped;
      g.end_of_turn = !p.raw && g.stopped;
    }
    if (left[job.prompt].fetch_sub(job.n) == job.n) done.one();
  });
  return out;
}

}  // namespace baimo::eval
