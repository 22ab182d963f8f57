#include "baimo/train/mfu.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace baimo::train {

double train_flops_per_token(const ModelConfig& cfg, int64_t seq) {
  double n = static_cast<double>(cfg.parameter_count());
  if (!cfg.tie_word_embeddings) n -= static_cast<double>(cfg.vocab_size) * cfg.hidden_size;
  return 6.0 * n + 12.0 * cfg.num_hidden_layers * static_cast<double>(seq) * cfg.q_dim();
}

double measure_sgemm_peak_gflops() {
  const int n = 1024;
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size(), 0.f);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep > 0 && s > 0) best = std::max(best, 2.0 * n * n * n / s / 1e9);  // first run warms up
  }
  return best;
}

}  // namespace baimo::train
