// choose_blas_kernel: OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads, and Debian's
// build mis-detects this CPU family (SSE3/AVX2 kernels on AVX-512 machines: 2x slower sgemm).
// Call first thing in main(): if the kernel baimo wants differs from the environment's, it sets
// OPENBLAS_CORETYPE and re-executes the program once (BAIMO_BLAS_CHOSEN guards the loop).
// The choice: $BAIMO_OPENBLAS_CORETYPE if set, else SkylakeX on AVX-512F, Haswell on AVX2.
#pragma once

namespace baimo {

void choose_blas_kernel(char** argv);
// The kernel name chosen for this CPU (what choose_blas_kernel sets); benchmarks give it to anchors.
const char* preferred_blas_coretype();

}  // namespace baimo
