#include "baimo/util/process_env.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace baimo {

void prepare_process_env(char** argv, const ProcessEnv& env) {
  if (std::getenv("BAIMO_ENV_PREPARED")) return;
  ::setenv("BAIMO_ENV_PREPARED", "1", 1);
  bool changed = false;
  if (const char* want = env.blas_coretype; want && *want) {
    const char* have = std::getenv("OPENBLAS_CORETYPE");
    if (!have || std::strcmp(have, want) != 0) ::setenv("OPENBLAS_CORETYPE", want, 1), changed = true;
  }
  if (env.omp_spin_count && !std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    ::setenv("GOMP_SPINCOUNT", env.omp_spin_count, 1), changed = true;
  if (changed) ::execv("/proc/self/exe", argv);  // on failure: carry on with the libraries as loaded
}

}  // namespace baimo
