// Shared by the benchmarks whose anchor is this machine's memory bandwidth (bench/quant,
// bench/generate): a page-aligned buffer first touched by the OpenMP threads that use it, a
// STREAM-style copy returning GB/s (bytes read + bytes written), and the timing helpers
// (seconds_since, median) both report with. Header-only: each bench folder is its own program.
#pragma once
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace baimo::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Buffer {  // page-aligned, first touched by the threads that use it
  std::unique_ptr<uint8_t, decltype(&std::free)> p{nullptr, &std::free};
  size_t size = 0;
  explicit Buffer(size_t n)
      : p(static_cast<uint8_t*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096)), &std::free), size(n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 4096) std::memset(p.get() + i, 1, std::min<size_t>(4096, n - i));
  }
  uint8_t* data() { return p.get(); }
};

// One STREAM-style copy of src into dst (same size), split in page-aligned pieces per thread.
inline double copy_bandwidth(Buffer& src, Buffer& dst) {
  const size_t n = src.size;
  const auto t0 = Clock::now();
#pragma omp parallel
  {
    const size_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const size_t per = (n / nt + 4095) / 4096 * 4096;
    const size_t b = std::min(n, t * per), e = std::min(n, b + per);
    if (e > b) std::memcpy(dst.data() + b, src.data() + b, e - b);
  }
  return 2.0 * n / seconds_since(t0) / 1e9;
}

}  // namespace baimo::bench
