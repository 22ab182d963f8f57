// DistillConfig: every setting of `baimo distill`: SFT's settings (train/sft_config.h: the data,
// lengths, batch, epochs, the held-out share, the trainer's keys) with "model" called "student",
// plus the teacher and the loss (objectives/distill.h): loss forward_kl | reverse_kl | jsd,
// temperature (> 0), beta (JSD, [0, 1]), ce_weight (>= 0), on_policy (the share of on-policy micro-batches,
// [0, 1]) with on_policy_temperature (>= 0) and on_policy_max_new_tokens (>= 1), teacher_cache (a file path,
// "" = run the teacher live) with teacher_top_k (>= 1, default 64): a cache is refused with on_policy > 0
// and with a loss other than forward_kl (the errors say why). lr defaults to 5e-4 (a student usually
// starts far from its teacher), min_lr to lr / 10. LoRA is refused (a full student is trained).
// The merged settings (run_config.json) keep "student", so a resume reads them back with these keys.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/train/objectives/distill.h"
#include "baimo/train/sft_config.h"

namespace baimo::train {

const RunKeys& distill_keys();
const std::vector<std::string>& distill_path_keys();

struct DistillConfig : SftConfig {
  std::string teacher;
  DistillOptions distill;
  std::string teacher_cache;  // "" = none
  int64_t teacher_top_k = 64;
};

DistillConfig parse_distill_config(const nlohmann::json& merged, const std::string& where);

}  // namespace baimo::train
