#include "baimo/util/blas_kernel.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace baimo {

const char* preferred_blas_coretype() {
  if (const char* forced = std::getenv("BAIMO_OPENBLAS_CORETYPE"); forced && *forced) return forced;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
  return nullptr;
}

void choose_blas_kernel(char** argv, const char* omp_spin_count) {
  if (std::getenv("BAIMO_BLAS_CHOSEN")) return;
  ::setenv("BAIMO_BLAS_CHOSEN", "1", 1);
  bool changed = false;
  if (const char* want = preferred_blas_coretype()) {
    const char* have = std::getenv("OPENBLAS_CORETYPE");
    if (!have || std::strcmp(have, want) != 0) ::setenv("OPENBLAS_CORETYPE", want, 1), changed = true;
  }
  if (omp_spin_count && !std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    ::setenv("GOMP_SPINCOUNT", omp_spin_count, 1), changed = true;
  if (changed) ::execv("/proc/self/exe", argv);  // on failure: carry on with the libraries as loaded
}

}  // namespace baimo
