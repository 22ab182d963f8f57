// RequestChannel: the hand-over between the scheduler thread (producer) and the thread that
// answers one request (consumer, e.g. an HTTP handler).
// Contract:
// - The scheduler pushes one SeqEvent per generated token of each of the request's n sequences;
//   a sequence's last event has step.finished set. fail() ends the request with a message (engine
//   error, shutdown); events pushed before stay readable.
// - wait() moves every pending event into `out` (appending) and returns true while the request may
//   still produce events or has unread ones; false once it is over and drained.
// - With GenerationOptions::prompt_logprobs the scheduler sets prompt_logprobs() (entry i: token
//   i of the prompt given tokens 0..i-1; entry 0 is empty) before the request's first event.
// - cancel() (client gone) is seen by the scheduler at its next step, which frees the slots.
// Thread-safe.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "baimo/infer/prompt_logprobs.h"
#include "baimo/infer/sequence.h"

namespace baimo {

struct SeqEvent {
  int index = 0;  // which of the request's n sequences
  TokenStep step;
  std::chrono::steady_clock::time_point time;
};

class RequestChannel {
 public:
  RequestChannel(int n_sequences, int64_t prompt_tokens)
      : prompt_tokens_(prompt_tokens), open_sequences_(n_sequences), created_(std::chrono::steady_clock::now()) {}

  // ---- consumer ----
  bool wait(std::vector<SeqEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty() || over_locked(); });
    bool had = !events_.empty();
    while (!events_.empty()) out.push_back(std::move(events_.front())), events_.pop_front();
    return had || !over_locked();
  }
  void cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  int64_t prompt_tokens() const { return prompt_tokens_; }
  std::vector<PromptLogprob> prompt_logprobs() const {
    std::lock_guard lock(mu_);
    return prompt_logprobs_;
  }
  std::chrono::steady_clock::time_point created() const { return created_; }

  // ---- producer (scheduler thread) ----
  void push(SeqEvent e) {
    {
      std::lock_guard lock(mu_);
      if (e.step.finished) --open_sequences_;
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  void set_prompt_logprobs(std::vector<PromptLogprob> lps) {
    std::lock_guard lock(mu_);
    prompt_logprobs_ = std::move(lps);
  }
  void fail(std::string message) {
    {
      std::lock_guard lock(mu_);
      if (error_.empty()) error_ = std::move(message);
    }
    cv_.notify_all();
  }
  bool over() const {
    std::lock_guard lock(mu_);
    return over_locked();
  }

 private:
  bool over_locked() const { return open_sequences_ <= 0 || !error_.empty(); }

  const int64_t prompt_tokens_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SeqEvent> events_;
  int open_sequences_;
  std::string error_;
  std::vector<PromptLogprob> prompt_logprobs_;
  std::atomic<bool> cancelled_{false};
  const std::chrono::steady_clock::time_point created_;
};

}  // namespace baimo
