#include "baimo/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace baimo {

Progress::Progress(std::string label, uint64_t total, std::string unit, double unit_scale)
    : label_(std::move(label)), unit_(std::move(unit)), unit_scale_(unit_scale), total_(total),
      tty_(::isatty(2)), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

void Progress::add(uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  draw(false);
}

void Progress::set(uint64_t done) {
  done_.store(done, std::memory_order_relaxed);
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  using namespace std::chrono;
  int64_t now = duration_cast<nanoseconds>(steady_clock::now() - start_).count();
  if (!final && now - last_draw_ns_.load(std::memory_order_relaxed) < 100'000'000) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  uint64_t done = done_.load(std::memory_order_relaxed);
  double secs = now / 1e9;
  double frac = total_ ? static_cast<double>(done) / total_ : 0.0;
  if (!tty_ && !final) {
    int decile = static_cast<int>(frac * 10);
    if (!total_ || decile == last_decile_) return;
    last_decile_ = decile;
  }
  last_draw_ns_.store(now, std::memory_order_relaxed);
  double shown = done / unit_scale_;
  double rate = secs > 0 ? shown / secs : 0.0;
  std::string line;
  if (total_) {
    int width = 28, fill = static_cast<int>(frac * width + 0.5);
    if (fill > width) fill = width;
    double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
    line = fmt::format("{} [{}{}] {:5.1f}% {:.1f}/{:.1f} {} {:.1f} {}/s {}{}s", label_,
                       std::string(fill, '#'), std::string(width - fill, '.'), frac * 100, shown,
                       total_ / unit_scale_, unit_, rate, unit_, final ? "" : "eta ",
                       final ? fmt::format("{:.1f}", secs) : fmt::format("{:.0f}", eta));
  } else {
    line = fmt::format("{} {:.1f} {} {:.1f} {}/s {:.1f}s", label_, shown, unit_, rate, unit_, secs);
  }
  std::fprintf(stderr, tty_ ? "\r\033[K%s%s" : "%s%s", line.c_str(), (final || !tty_) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace baimo
