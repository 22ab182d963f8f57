// The one CPU-feature detector of baimo: which vector instruction set the kernels run with, detected
// once per process. Every kernel (training ops, quantized and packed matmuls, decode attention,
// half-float rows) and the start-up BLAS kernel choice (util/process_env.h) ask it.
// Contract:
// - best_isa() is the fastest level this CPU (and OS) supports, capped by BAIMO_ISA=scalar|avx2|
//   avx512bw|avx512vnni in the environment (debugging, A/B timing). Kernels taking an isa argument
//   accept any level <= best_isa(); the integer block dots are exact on every level.
// - has_avx512(): the training kernels may take their AVX-512 F/BW/DQ/VL path (best_isa() >=
//   Avx512Bw), unless force_avx2_for_testing(true) (tests run both paths in one process).
// - cpu_has_avx512_bf16(): vcvtneps2bf16 is usable (and best_isa() >= Avx512Bw).
// - cpu_has_avx512_vbmi(): vpermb / vpmultishiftqb are usable (and best_isa() >= Avx512Vnni): the
//   2:4-sparse kernels' gather of activations.
// - preferred_blas_coretype(): the OpenBLAS kernel name for this CPU ($BAIMO_OPENBLAS_CORETYPE if
//   set, else SkylakeX on AVX-512F, Haswell on AVX2, null otherwise); benchmarks give it to anchors.
#pragma once
#include <string_view>

namespace baimo::cpu {

enum class CpuIsa : int {
  Scalar = 0,      // portable C++
  Avx2 = 1,        // AVX2 + FMA + F16C (the build baseline, x86-64-v3)
  Avx512Bw = 2,    // AVX-512 F/BW/VL/DQ, 512-bit integer dot products via vpmaddubsw
  Avx512Vnni = 3,  // plus AVX-512 VNNI (vpdpbusd)
};

CpuIsa best_isa();
std::string_view isa_name(CpuIsa isa);
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vbmi();

bool has_avx512();
void force_avx2_for_testing(bool force);

const char* preferred_blas_coretype();

}  // namespace baimo::cpu
