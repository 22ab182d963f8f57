// Training attention (attention_fwd + attention_bwd) on one packed row against plain causal
// attention on the same row, same run: a packed row must cost less, since each query block skips
// the key blocks before its document.
//   Shape:  B = 1, T = 1024 (--tokens), the Qwen2-0.5B heads (14 query heads, 2 kv heads, head_dim 64).
//   Cases:  causal (no segments); packed8_even: 8 documents of T/8 tokens; packed8_uneven: 8 documents
//           of uneven lengths (boundaries inside key blocks).
//   Order:  the cases alternate within each repetition (--reps, default 7); medians of fwd+bwd time.
// Output: `bench packed_attention <case> <ms> ms` lines, then `ratio packed_attention X` = causal time /
// packed8_uneven time (higher is better).
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "../memory_bandwidth.h"
#include "baimo/kernels/backend.h"

using namespace baimo;
using baimo::bench::Clock;
using baimo::bench::median;
using baimo::bench::seconds_since;

namespace {

std::vector<int32_t> segments_from(const std::vector<int>& lengths) {
  std::vector<int32_t> seg;
  for (size_t d = 0; d < lengths.size(); ++d) seg.insert(seg.end(), static_cast<size_t>(lengths[d]), int32_t(d));
  return seg;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"packed-row vs causal training attention"};
  int64_t T = 1024;
  int reps = 7;
  app.add_option("--tokens", T, "Row length (a multiple of 8, at least 64)")->check(CLI::Range(64, 1 << 16));
  app.add_option("--reps", reps, "Repetitions")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  T = T / 8 * 8;
  const int64_t Hq = 14, Hkv = 2, D = 64;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    return v;
  };
  const std::vector<float> q = random(T * Hq * D), k = random(T * Hkv * D), v = random(T * Hkv * D),
                           dout = random(T * Hq * D);
  std::vector<float> out(q.size()), lse(static_cast<size_t>(Hq * T)), dq(q.size()), dk(k.size()), dv(v.size());

  const int e = static_cast<int>(T / 8);  // uneven: the even split moved by offsets that sum to 0
  const std::vector<int> even(8, e);
  const std::vector<int> uneven{e + e / 3, e - e / 3 + 5, e + e / 5, e - e / 5 - 5,
                                e + e / 4, e - e / 4 + 3, e + e / 7, e - e / 7 - 3};
  const std::vector<std::string> names{"causal", "packed8_even", "packed8_uneven"};
  const std::vector<std::vector<int32_t>> segs{{}, segments_from(even), segments_from(uneven)};

  std::vector<std::vector<double>> times(names.size());
  for (int r = 0; r <= reps; ++r)  // repetition 0 warms up
    for (size_t c = 0; c < names.size(); ++c) {
      const int32_t* s = segs[c].empty() ? nullptr : segs[c].data();
      const auto t0 = Clock::now();
      backend().attention_fwd(q.data(), k.data(), v.data(), s, 1, T, Hq, Hkv, D, out.data(), lse.data());
      backend().attention_bwd(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), s, 1, T, Hq, Hkv, D,
                              dq.data(), dk.data(), dv.data(), false, false, false);
      if (r > 0) times[c].push_back(seconds_since(t0));
    }
  std::vector<double> ms;
  for (size_t c = 0; c < names.size(); ++c) {
    ms.push_back(1e3 * median(times[c]));
    std::printf("bench packed_attention %s %.2f ms\n", names[c].c_str(), ms.back());
  }
  std::printf("ratio packed_attention %.2f\n", ms[0] / ms[2]);
  return 0;
}
