// choose_blas_kernel: settings that libraries read once, when they load, so they must be in the
// environment before the process starts; call it first thing in main(). If one differs from the
// environment's, it sets it and re-executes the program once (BAIMO_BLAS_CHOSEN guards the loop).
// - OPENBLAS_CORETYPE: Debian's OpenBLAS mis-detects this CPU family (SSE3/AVX2 kernels on AVX-512
//   machines: 2x slower sgemm). The choice: $BAIMO_OPENBLAS_CORETYPE if set, else SkylakeX on
//   AVX-512F, Haswell on AVX2.
// - GOMP_SPINCOUNT (only when omp_spin_count is given and the user set neither OMP_WAIT_POLICY nor
//   GOMP_SPINCOUNT): how long idle OpenMP threads spin before they sleep. libgomp's default spins
//   for milliseconds, which a server sharing its cores with HTTP threads (and a loaded machine)
//   pays for in every gap between steps.
#pragma once

namespace baimo {

void choose_blas_kernel(char** argv, const char* omp_spin_count = nullptr);
// The kernel name chosen for this CPU (what choose_blas_kernel sets); benchmarks give it to anchors.
const char* preferred_blas_coretype();

}  // namespace baimo
