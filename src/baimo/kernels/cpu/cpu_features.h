// CPU feature detection for kernel dispatch, detected once per process.
// Contract: has_avx512() is true when AVX-512 F/BW/DQ/VL kernels may run (CPU and OS support
// them). BAIMO_ISA=avx2 (or scalar) in the environment forces the AVX2 path (A/B timing, tests).
#pragma once

namespace baimo::cpu {

bool has_avx512();
void force_avx2_for_testing(bool force);  // tests run both paths in one process

}  // namespace baimo::cpu
