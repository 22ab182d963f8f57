// Server metrics in the Prometheus text exposition format (GET /metrics).
// Contract: thread-safe; counters only grow; histograms use fixed cumulative buckets (seconds)
// with _bucket{le=...}, _sum and _count series. Gauges (queue length, active slots) are read from
// the scheduler at scrape time and passed to prometheus_text().
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace baimo::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double seconds);
  // Appends the _bucket/_sum/_count lines of metric `name` with HELP/TYPE headers.
  void append_text(std::string& out, const std::string& name, const std::string& help) const;
  uint64_t count() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), last = +Inf
  double sum_ = 0;
  uint64_t total_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  // One finished HTTP request on `endpoint` (e.g. "/v1/chat/completions") with its status code.
  void count_request(const std::string& endpoint, int status);
  void add_tokens(int64_t prompt_tokens, int64_t completion_tokens);
  void observe_ttft(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token(double seconds) { inter_token_.observe(seconds); }
  void count_disconnect() { disconnects_.fetch_add(1, std::memory_order_relaxed); }
  std::string prometheus_text(int64_t queue_length, int active_slots, int total_slots) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> prompt_tokens_{0}, completion_tokens_{0}, disconnects_{0};
  Histogram ttft_, inter_token_;
};

}  // namespace baimo::serve
