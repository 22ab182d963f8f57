#include "baimo/kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace baimo::cpu {

namespace {
bool detect() {
  __builtin_cpu_init();
  bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (const char* cap = std::getenv("BAIMO_ISA")) {
    std::string c = cap;
    if (c == "avx2" || c == "scalar") ok = false;
  }
  return ok;
}
std::atomic<bool> g_force_avx2{false};
}  // namespace

bool has_avx512() {
  static const bool has = detect();
  return has && !g_force_avx2.load(std::memory_order_relaxed);
}

void force_avx2_for_testing(bool force) { g_force_avx2 = force; }

}  // namespace baimo::cpu
