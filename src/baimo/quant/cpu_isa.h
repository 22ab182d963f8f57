// CpuIsa: which vector instruction set a quant kernel runs with, detected once at run time.
// Contract: best_isa() returns the fastest level this CPU (and OS) supports; every kernel taking an
// isa argument accepts any level <= best_isa() and gives the integer-exact same block dot products
// on all of them (tests run each level against Scalar). BAIMO_ISA=scalar|avx2|avx512bw|avx512vnni
// in the environment caps the level (for debugging and A/B timing).
#pragma once
#include <string_view>

namespace baimo::quant {

enum class CpuIsa : int {
  Scalar = 0,      // portable C++
  Avx2 = 1,        // AVX2 + FMA + F16C (the build baseline, x86-64-v3)
  Avx512Bw = 2,    // AVX-512 F/BW/VL/DQ, 512-bit integer dot products via vpmaddubsw
  Avx512Vnni = 3,  // plus AVX-512 VNNI (vpdpbusd)
};

CpuIsa best_isa();
bool cpu_has_avx512_bf16();  // vcvtneps2bf16 (used by the f32 -> bf16 row conversion)
std::string_view isa_name(CpuIsa isa);

}  // namespace baimo::quant
