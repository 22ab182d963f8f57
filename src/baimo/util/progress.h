// Progress: a one-line terminal progress bar for long work (training a tokenizer, preparing data).
// Contract: add(n) is thread-safe and cheap; the bar redraws at most ~10 times a second on stderr,
// only when stderr is a terminal (otherwise one line every ~10%); finish() prints the final line.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace baimo {

class Progress {
 public:
  // total = 0 means unknown (shows count and rate only). unit is e.g. "MB", "docs", "merges".
  Progress(std::string label, uint64_t total, std::string unit = "", double unit_scale = 1.0);
  ~Progress();
  void add(uint64_t n);
  void set(uint64_t done);
  void finish();

 private:
  void draw(bool final);
  std::string label_, unit_;
  double unit_scale_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  std::atomic<int64_t> last_draw_ns_{0};
  int last_decile_ = -1;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
};

}  // namespace baimo
