// --threads N for the commands that compute on a model (eval, generate, chat, serve): the OpenMP
// and OpenBLAS thread count of the calling thread (serve passes it to its scheduler thread). The
// default, without the flag: $OMP_NUM_THREADS if set, else one thread per core. On a machine shared
// with other busy processes fewer threads than cores is often much faster (idle-spinning teams).
// 0 or a negative number is a usage error (CLI11 validator), never silently replaced.
#pragma once
#include <cblas.h>
#include <omp.h>

#include <CLI/CLI.hpp>

namespace baimo::cli {

inline CLI::Option* add_threads_flag(CLI::App* sub, int& threads) {
  return sub->add_option("--threads", threads, "Compute threads (default: $OMP_NUM_THREADS, else all cores)")
      ->check(CLI::PositiveNumber);
}

// Applies --threads (0 = leave the default) to this thread; returns the count in effect.
inline int apply_threads(int threads) {
  if (threads > 0) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
  }
  return omp_get_max_threads();
}

}  // namespace baimo::cli
