// baimo dpo --model SFT_MODEL --data PREFS... --out DIR [--loss sigmoid|ipo|hinge|simpo|orpo] [--beta 0.1]
//           [--label-smoothing 0] [--simpo-gamma 0.5] [--rpo-alpha 0] [--lora [--lora-r R ...]] [--eval-data FILE...]
//           [--max-len 1024 --max-prompt-len 512 --batch 8 --epochs 3 | --steps N] [--run-config FILE.json] ...
// Preference tuning without a reward model: the Trainer over the DPO objective
// (train/objectives/dpo.h) on chosen / rejected pairs (data/preference_records.h), rendered with the
// model's chat template. The reference model is the start model (with LoRA: the base with the adapter
// off); its log-probs are computed once, before training. Settings: train/preference_config.h.
// Every trainer feature works: exact resume after kill -9 (--resume), spike guard, mpirun, time
// budget, metrics.jsonl (rewards/*, logps/*: `baimo plot OUT --metric logps/chosen` shows the known
// failure of a falling chosen log-prob). Writes OUT/run_config.json, OUT/tokenizer/,
// OUT/held_out.jsonl, OUT/checkpoints/step_N and OUT/final (a model directory, or a PEFT adapter).
#include <chrono>
#include <deque>
#include <cstdio>

#include "baimo/cli/command.h"
#include "baimo/cli/preference_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/io/safetensors.h"
#include "baimo/train/objectives/dpo.h"

namespace baimo::cli {
namespace {
using json = nlohmann::json;

// The micro-batches of the first steps x grad_accum draws as I32 tensors ids_K, targets_K,
// positions_K, segments_K, chosen_group_K, rejected_group_K (rows_K, seq_K) and F32 ref_chosen_K,
// ref_rejected_K (pairs): what bench/dpo's PyTorch anchor trains on.
void dump_pairs(train::DpoObjective& objective, const train::PreferenceConfig& cfg, const std::string& path) {
  const int64_t n = cfg.settings.trainer.steps * cfg.settings.trainer.grad_accum;
  std::deque<std::vector<float>> storage;  // the tensors' values (SafetensorWrite holds spans)
  std::vector<SafetensorWrite> tensors;
  auto add = [&](std::string name, std::vector<int64_t> shape, std::vector<float> values) {
    storage.push_back(std::move(values));
    tensors.push_back({std::move(name), std::move(shape), storage.back()});
  };
  for (int64_t k = 0; k < n; ++k) {
    objective.draw(0);
    const train::PreferenceRows& rows = objective.drawn_rows(0);
    const std::vector<int64_t> shape{static_cast<int64_t>(rows.batch.rows), static_cast<int64_t>(rows.batch.seq)};
    const std::pair<const char*, const std::vector<int32_t>*> ints[] = {
        {"ids", &rows.batch.ids},           {"targets", &rows.batch.targets},
        {"positions", &rows.batch.positions}, {"segments", &rows.batch.segments},
        {"chosen_group", &rows.chosen_group}, {"rejected_group", &rows.rejected_group}};
    for (const auto& [name, v] : ints) add(fmt::format("{}_{}", name, k), shape, std::vector<float>(v->begin(), v->end()));
    auto [ref_c, ref_r] = objective.reference_of(objective.drawn_pairs(0));
    if (!ref_c.empty()) {
      add(fmt::format("ref_chosen_{}", k), {static_cast<int64_t>(rows.pairs)}, std::move(ref_c));
      add(fmt::format("ref_rejected_{}", k), {static_cast<int64_t>(rows.pairs)}, std::move(ref_r));
    }
  }
  save_safetensors(path, tensors);
  std::printf("pairs -> %s (%lld micro-batches)\n", path.c_str(), static_cast<long long>(n));
}

void run_dpo(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::dpo_keys(), where);
  train::PreferenceConfig cfg = train::parse_preference_config(merged, where, train::PreferenceStage::Dpo);
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  PreferenceData data = load_preference_data(cfg, ft);
  std::optional<LoraAdapter> adapter;
  Transformer model = load_finetune_model(cfg, ft, adapter);

  const auto t0 = std::chrono::steady_clock::now();
  train::DpoObjective objective(model, adapter ? &*adapter : nullptr, data.split.train, data.split.held_out,
                                pair_objective_options(cfg, ft), cfg.loss);
  if (train::needs_reference(cfg.loss.type))
    std::printf("reference log-probs of %zu pairs: %.1f s\n", data.split.train.size() + data.split.held_out.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  train::resolve_finetune_steps(cfg, static_cast<int64_t>(data.split.train.size()));
  if (!cfg.debug_dump_pairs.empty()) return dump_pairs(objective, cfg, cfg.debug_dump_pairs);
  train_preference_objective(
      cfg, ft, data, model, adapter, objective,
      fmt::format("dpo, loss {}, beta {}", train::preference_loss_name(cfg.loss.type), cfg.loss.beta), false);
}

}  // namespace

BAIMO_COMMAND(46, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("dpo", "Preference tuning (DPO, IPO, hinge, SimPO, ORPO; full or LoRA) on chosen / "
                                         "rejected pairs, against the start model as the reference");
  add_run_flags(sub, train::dpo_keys(), *flags);
  sub->callback([flags] { run_dpo(*flags); });
});

}  // namespace baimo::cli
