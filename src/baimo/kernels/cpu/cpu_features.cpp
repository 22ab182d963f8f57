#include "baimo/kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace baimo::cpu {

namespace {

CpuIsa detect() {
  __builtin_cpu_init();
  CpuIsa isa = CpuIsa::Scalar;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = CpuIsa::Avx2;
  if (isa == CpuIsa::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    isa = CpuIsa::Avx512Bw;
  if (isa == CpuIsa::Avx512Bw && __builtin_cpu_supports("avx512vnni")) isa = CpuIsa::Avx512Vnni;
  if (const char* cap = std::getenv("BAIMO_ISA")) {
    const std::string c = cap;
    CpuIsa want = isa;
    if (c == "scalar") want = CpuIsa::Scalar;
    else if (c == "avx2") want = CpuIsa::Avx2;
    else if (c == "avx512bw") want = CpuIsa::Avx512Bw;
    else if (c == "avx512vnni") want = CpuIsa::Avx512Vnni;
    if (want < isa) isa = want;
  }
  return isa;
}

std::atomic<bool> g_force_avx2{false};

}  // namespace

CpuIsa best_isa() {
  static const CpuIsa isa = detect();
  return isa;
}

std::string_view isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Scalar: return "scalar";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Avx512Bw: return "avx512bw";
    case CpuIsa::Avx512Vnni: return "avx512vnni";
  }
  return "?";
}

bool cpu_has_avx512_bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return best_isa() >= CpuIsa::Avx512Bw && __builtin_cpu_supports("avx512bf16");
  }();
  return has;
}

bool cpu_has_avx512_vbmi() {
  static const bool has = [] {
    __builtin_cpu_init();
    return best_isa() >= CpuIsa::Avx512Vnni && __builtin_cpu_supports("avx512vbmi");
  }();
  return has;
}

bool has_avx512() {
  static const bool has = best_isa() >= CpuIsa::Avx512Bw;
  return has && !g_force_avx2.load(std::memory_order_relaxed);
}

void force_avx2_for_testing(bool force) { g_force_avx2 = force; }

const char* preferred_blas_coretype() {
  if (const char* forced = std::getenv("BAIMO_OPENBLAS_CORETYPE"); forced && *forced) return forced;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
  return nullptr;
}

}  // namespace baimo::cpu
