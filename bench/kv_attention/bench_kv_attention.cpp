// Decode attention (kv_attention) time per call, the SIMD paths against the portable scalar reference
// (the kernel baimo had before them) on the same cache, same run.
//   Shapes: configs/small.json (8 heads, 4 kv heads, head_dim 32, 8 layers) at batch 8 and 1, and the
//           Qwen2-0.5B shape (14 heads, 2 kv heads, head_dim 64, 24 layers) at batch 1 (and 8);
//           every row of a batch on its own slot at context ~ctx (rows at ctx - 3r, like streams that
//           started a few tokens apart). --quick: three cases; full: six.
//   Work:   one measurement = one decode step = one call per layer (so a call finds its layer's keys
//           and values in cache only as far as a real step would); time per call = step time / layers.
//   Order:  within each repetition scalar, avx2, avx512 alternate, with 1 thread and then the default
//           count (the fork-or-not decision of the OpenMP threshold); medians over repetitions.
//           With 1 thread the calling thread's CPU time is reported too (`_cpu`): it leaves out time
//           spent preempted, which dominates wall-clock medians on a loaded machine.
// Output: `bench kv_attention <case>_<isa>_t<threads>[_cpu] <us> us/call` lines, per case the speedup
// of the best ISA over scalar at 1 thread (CPU-time medians), and last `ratio kv_attention X` = the geometric mean of
// those speedups (higher is better).
#include <omp.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../memory_bandwidth.h"
#include "baimo/kernels/cpu/kv_attention.h"
#include "baimo/model/kv_cache.h"

using namespace baimo;
using baimo::bench::Clock;
using baimo::bench::median;
using baimo::bench::seconds_since;

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Case {
  std::string name;
  int64_t layers, heads, kv_heads, head_dim, batch, ctx;
};

struct State {
  Case c;
  ModelConfig cfg;
  std::unique_ptr<KvCache> cache;
  std::vector<float> q, out, scratch;
  std::vector<int32_t> slot, pos;
  explicit State(const Case& c_) : c(c_) {
    cfg.num_hidden_layers = c.layers;
    cfg.num_attention_heads = c.heads;
    cfg.num_key_value_heads = c.kv_heads;
    cfg.head_dim = c.head_dim;
    cache = std::make_unique<KvCache>(cfg, static_cast<int>(c.batch), c.ctx);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t kv_dim = c.kv_heads * c.head_dim, q_dim = c.heads * c.head_dim;
    for (int64_t l = 0; l < c.layers; ++l)
      for (int s = 0; s < c.batch; ++s) {
        float* k = cache->keys(l, s);
        float* v = cache->values(l, s);
        for (int64_t i = 0; i < c.ctx * kv_dim; ++i) k[i] = nd(rng), v[i] = nd(rng);
      }
    q.resize(static_cast<size_t>(c.batch * q_dim));
    for (float& x : q) x = nd(rng);
    out.resize(q.size());
    scratch.resize(static_cast<size_t>(omp_get_max_threads() * cpu::kv_attention_scratch(c.heads / c.kv_heads, c.head_dim)));
    for (int64_t r = 0; r < c.batch; ++r) {
      slot.push_back(static_cast<int32_t>(r));
      pos.push_back(static_cast<int32_t>(std::max<int64_t>(0, c.ctx - 1 - 3 * r)));
    }
  }
  // Seconds per call over one decode step (one call per layer): wall clock and this thread's CPU time
  // (with one thread the latter leaves out time spent preempted on a loaded machine).
  std::pair<double, double> time(cpu::CpuIsa isa, int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    const double c0 = thread_cpu_seconds();
    const auto t0 = Clock::now();
    for (int64_t l = 0; l < c.layers; ++l)
      cpu::kv_attention(q.data(), c.batch, slot.data(), pos.data(), cache->view(l), c.heads, c.kv_heads, c.head_dim,
                        out.data(), scratch.data(), isa);
    const double wall = seconds_since(t0), cpu = thread_cpu_seconds() - c0;
    omp_set_num_threads(saved);
    return {wall / static_cast<double>(c.layers), cpu / static_cast<double>(c.layers)};
  }
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick")
      quick = true;
    else {
      std::fprintf(stderr, "usage: bench_kv_attention [--quick]\n");
      return 2;
    }
  }
  const int reps = quick ? 9 : 41, max_threads = omp_get_max_threads();
  std::vector<Case> cases{{"small_b8_ctx128", 8, 8, 4, 32, 8, 128},
                          {"small_b1_ctx128", 8, 8, 4, 32, 1, 128},
                          {"qwen05b_b1_ctx1024", 24, 14, 2, 64, 1, 1024}};
  if (!quick) {
    cases.push_back({"small_b8_ctx512", 8, 8, 4, 32, 8, 512});
    cases.push_back({"qwen05b_b1_ctx128", 24, 14, 2, 64, 1, 128});
    cases.push_back({"qwen05b_b8_ctx128", 24, 14, 2, 64, 8, 128});
  }
  std::vector<cpu::CpuIsa> isas{cpu::CpuIsa::Scalar};
  if (cpu::best_isa() >= cpu::CpuIsa::Avx2) isas.push_back(cpu::CpuIsa::Avx2);
  if (cpu::best_isa() >= cpu::CpuIsa::Avx512Bw) isas.push_back(cpu::CpuIsa::Avx512Bw);
  std::vector<int> thread_counts{1};
  if (max_threads > 1) thread_counts.push_back(max_threads);
  std::printf("# bench kv_attention: %d repetitions of one decode step (one call per layer) per variant, %d threads\n",
              reps, max_threads);
  double log_speedup = 0;
  for (const Case& c : cases) {
    State st(c);
    const size_t n = isas.size() * thread_counts.size();
    std::vector<std::vector<double>> wall(n), cpu(n);
    for (size_t i = 0; i < isas.size(); ++i) st.time(isas[i], max_threads);  // warm up
    for (int r = 0; r < reps; ++r)
      for (size_t tc = 0; tc < thread_counts.size(); ++tc)
        for (size_t i = 0; i < isas.size(); ++i) {
          const auto [w, u] = st.time(isas[i], thread_counts[tc]);
          wall[tc * isas.size() + i].push_back(w);
          cpu[tc * isas.size() + i].push_back(u);
        }
    for (size_t tc = 0; tc < thread_counts.size(); ++tc)
      for (size_t i = 0; i < isas.size(); ++i) {
        const std::string name =
            c.name + "_" + std::string(cpu::isa_name(isas[i])) + "_t" + std::to_string(thread_counts[tc]);
        std::printf("bench kv_attention %s %.2f us/call\n", name.c_str(), 1e6 * median(wall[tc * isas.size() + i]));
        if (thread_counts[tc] == 1)
          std::printf("bench kv_attention %s_cpu %.2f us/call\n", name.c_str(),
                      1e6 * median(cpu[tc * isas.size() + i]));
      }
    // Speedup of the best ISA over the scalar reference, one thread, CPU-time medians.
    const double speedup = median(cpu[0]) / median(cpu[isas.size() - 1]);
    std::printf("bench kv_attention %s_speedup_%s_vs_scalar_t1 %.2f x\n", c.name.c_str(),
                std::string(cpu::isa_name(isas.back())).c_str(), speedup);
    log_speedup += std::log(speedup);
  }
  std::printf("ratio kv_attention %.2f\n", std::exp(log_speedup / static_cast<double>(cases.size())));
  return 0;
}
