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

void choose_blas_kernel(char** argv) {
  if (std::getenv("BAIMO_BLAS_CHOSEN")) return;
  const char* want = preferred_blas_coretype();
  ::setenv("BAIMO_BLAS_CHOSEN", "1", 1);
  if (!want) return;
  const char* have = std::getenv("OPENBLAS_CORETYPE");
  if (have && std::strcmp(have, want) == 0) return;
  ::setenv("OPENBLAS_CORETYPE", want, 1);
  ::execv("/proc/self/exe", argv);  // on failure: carry on with the kernel already loaded
}

}  // namespace baimo
