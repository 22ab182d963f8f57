#include "baimo/serve/metrics.h"

#include <fmt/format.h>

namespace baimo::serve {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  std::lock_guard lock(mu_);
  ++counts_[i];
  sum_ += seconds;
  ++total_;
}

uint64_t Histogram::count() const {
  std::lock_guard lock(mu_);
  return total_;
}

void Histogram::append_text(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  cum += counts_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, sum_, name, total_);
}

ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      inter_token_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void ServerMetrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void ServerMetrics::add_tokens(int64_t prompt_tokens, int64_t completion_tokens) {
  prompt_tokens_.fetch_add(static_cast<uint64_t>(prompt_tokens), std::memory_order_relaxed);
  completion_tokens_.fetch_add(static_cast<uint64_t>(completion_tokens), std::memory_order_relaxed);
}

std::string ServerMetrics::prometheus_text(int64_t queue_length, int active_slots, int total_slots) const {
  std::string out;
  out += "# HELP baimo_requests_total HTTP requests answered, by endpoint and status code.\n";
  out += "# TYPE baimo_requests_total counter\n";
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : requests_)
      out += fmt::format("baimo_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  }
  out += fmt::format(
      "# HELP baimo_prompt_tokens_total Prompt tokens of admitted completion requests.\n"
      "# TYPE baimo_prompt_tokens_total counter\nbaimo_prompt_tokens_total {}\n"
      "# HELP baimo_completion_tokens_total Tokens generated.\n"
      "# TYPE baimo_completion_tokens_total counter\nbaimo_completion_tokens_total {}\n"
      "# HELP baimo_client_disconnects_total Requests (streaming or not) whose client went away before the end.\n"
      "# TYPE baimo_client_disconnects_total counter\nbaimo_client_disconnects_total {}\n"
      "# HELP baimo_queue_length Requests waiting for a slot.\n"
      "# TYPE baimo_queue_length gauge\nbaimo_queue_length {}\n"
      "# HELP baimo_active_slots Slots decoding a sequence.\n"
      "# TYPE baimo_active_slots gauge\nbaimo_active_slots {}\n"
      "# HELP baimo_slots Slots (--parallel).\n"
      "# TYPE baimo_slots gauge\nbaimo_slots {}\n",
      prompt_tokens_.load(), completion_tokens_.load(), disconnects_.load(), queue_length, active_slots, total_slots);
  ttft_.append_text(out, "baimo_time_to_first_token_seconds", "Time from request arrival to its first generated token.");
  inter_token_.append_text(out, "baimo_inter_token_seconds", "Time between consecutive tokens of one sequence.");
  return out;
}

}  // namespace baimo::serve
