// Model FLOPs utilisation (MFU) for training.
// - train_flops_per_token(cfg, seq) = 6 * N + 12 * L * seq * q_dim: N = the parameters used in
//   matmuls (every parameter except an untied input embedding, whose lookup is no matmul; a tied
//   embedding counts once as the lm_head), 6 = forward (2) + backward (4) FLOPs per weight and token;
//   the attention term is PaLM's (QK^T and AV, forward + backward, without the causal halving).
// - measure_sgemm_peak_gflops(): best of a few 1024^3 cblas_sgemm runs on the current threads
//   (about 0.1 s): the machine's practical f32 peak that MFU is measured against.
// - mfu = flops_per_token * tokens_per_s / (peak_gflops * 1e9).
#pragma once
#include <cstdint>

#include "baimo/model/config.h"

namespace baimo::train {

double train_flops_per_token(const ModelConfig& cfg, int64_t seq);
double measure_sgemm_peak_gflops();

}  // namespace baimo::train
