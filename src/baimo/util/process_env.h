// prepare_process_env: the start-up environment step. Some settings are read by libraries only
// once, when they load, so they must be in the environment before the process starts; call it
// first thing in main(). If one differs from the environment's, it sets it and re-executes the
// program once (BAIMO_ENV_PREPARED guards the loop; on a failed exec the program carries on with
// the libraries as loaded).
// - OPENBLAS_CORETYPE = env.blas_coretype when given: Debian's OpenBLAS mis-detects this CPU
//   family (SSE3/AVX2 kernels on AVX-512 machines: 2x slower sgemm). The choice for this CPU is
//   kernels/cpu/cpu_features.h's preferred_blas_coretype() (the one CPU-feature detector).
// - GOMP_SPINCOUNT = env.omp_spin_count when given and the user set neither OMP_WAIT_POLICY nor
//   GOMP_SPINCOUNT: how long idle OpenMP threads spin before they sleep. libgomp's default spins
//   for milliseconds, which a server sharing its cores with HTTP threads (and a loaded machine)
//   pays for in every gap between steps.
#pragma once

namespace baimo {

struct ProcessEnv {
  const char* blas_coretype = nullptr;   // OPENBLAS_CORETYPE, e.g. "SkylakeX"; null: leave as is
  const char* omp_spin_count = nullptr;  // GOMP_SPINCOUNT; null: leave as is
};

void prepare_process_env(char** argv, const ProcessEnv& env);

}  // namespace baimo
