#include "baimo/cli/preference_run.h"

#include <omp.h>

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "baimo/cli/train_run.h"
#include "baimo/data/sft_packing.h"
#include "baimo/train/mfu.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

PreferenceData load_preference_data(const train::PreferenceConfig& cfg, const FinetuneTokenizer& ft) {
  PreferenceData d;
  auto read_all = [](const std::vector<std::string>& files) {
    std::vector<PreferenceRecord> all;
    for (const std::string& f : files) {
      PreferenceReadStats rs;
      std::vector<PreferenceRecord> r = read_preference_records(f, &rs);
      if (rs.pairs < rs.records)  // Anthropic HH transcripts that hold no pair (counted, never silent)
        std::printf("%s: %zu of %zu records skipped (%zu with an empty final answer, %zu whose turns do not "
                    "alternate; the first: %s)\n",
                    f.c_str(), rs.records - rs.pairs, rs.records, rs.empty_answer, rs.turn_order,
                    rs.first_skipped.c_str());
      all.insert(all.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    return all;
  };
  d.records = read_all(cfg.data);
  d.eval_records = read_all(cfg.eval_data);
  PreferenceEncodeOptions enc;
  enc.kind = ft.kind;
  enc.max_len = static_cast<size_t>(cfg.max_len);
  enc.max_prompt_len = static_cast<size_t>(cfg.max_prompt_len);
  PreferenceDataset data = encode_preference_examples(ft.tok, d.records, enc);
  const PreferenceStats st = data.stats;
  if (d.eval_records.empty()) {
    d.split = split_preference_examples(std::move(data.examples), d.records.size(), cfg.val_fraction,
                                        cfg.settings.seed);
  } else {
    d.split.train = std::move(data.examples);
    d.split.held_out = encode_preference_examples(ft.tok, d.eval_records, enc).examples;
  }
  std::printf("data: %zu pairs from %zu file(s), template %s: %zu train, %zu held out; %zu truncated, %zu skipped "
              "(max_len %lld, max_prompt_len %lld); %zu tokens, longest %zu\n",
              st.records, cfg.data.size(), chat_template_name(ft.kind), d.split.train.size(), d.split.held_out.size(),
              st.truncated, st.skipped, static_cast<long long>(cfg.max_len),
              static_cast<long long>(cfg.max_prompt_len), st.tokens, st.longest);
  return d;
}

train::PairObjectiveOptions pair_objective_options(const train::PreferenceConfig& cfg, const FinetuneTokenizer& ft) {
  const train::TrainerOptions& topt = cfg.settings.trainer;
  train::PairObjectiveOptions o;
  o.batch = cfg.batch;
  o.grad_accum = topt.grad_accum;
  o.seq = static_cast<size_t>(cfg.max_len);
  o.pad_id = sft_pad_id(ft.tok, ft.kind);
  o.seed = cfg.settings.seed;
  o.module.tokenizer_json = run_tokenizer_path(cfg);
  o.module.base_model = fs::absolute(cfg.model).lexically_normal().string();
  o.module.decay_lora = topt.weight_decay > 0;
  o.rank = topt.rank;
  o.world = topt.world;
  return o;
}

void write_held_out_pairs(const train::PreferenceConfig& cfg, const PreferenceData& d) {
  if (cfg.settings.trainer.rank != 0) return;
  const std::vector<PreferenceRecord>& records = d.eval_records.empty() ? d.records : d.eval_records;
  std::string text;
  for (const PreferenceExample& e : d.split.held_out) {
    const PreferenceRecord& r = records.at(e.record);
    json prompt = json::array();
    for (const ChatMessage& m : r.prompt) prompt.push_back({{"role", m.role}, {"content", m.content}});
    text += json{{"prompt", prompt}, {"chosen", r.chosen}, {"rejected", r.rejected}}.dump() + "\n";
  }
  write_file_atomic((fs::path(cfg.settings.trainer.out_dir) / "held_out.jsonl").string(), text);
}

void train_preference_objective(train::PreferenceConfig& cfg, const FinetuneTokenizer& ft, const PreferenceData& data,
                                Transformer& model, const std::optional<LoraAdapter>& adapter,
                                train::Objective& objective, const std::string& stage, bool merge_adapter) {
  train::TrainerOptions& topt = cfg.settings.trainer;
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();
  write_run_files(cfg, ft, train::finetune_path_keys());
  write_held_out_pairs(cfg, data);

  train::Trainer trainer(objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  const ModelConfig& mc = model.config();
  const int64_t trainable = adapter ? adapter->numel() : mc.parameter_count();
  std::printf("%s (%s): %.2fM parameters, %.3fM trainable (%.2f%%), %lld steps of %lld pairs x %lld "
              "(%zu training pairs), lr %g -> %g, %d threads%s\n",
              stage.c_str(), adapter ? "LoRA" : "full", mc.parameter_count() / 1e6, trainable / 1e6,
              100.0 * trainable / std::max<int64_t>(1, mc.parameter_count()), static_cast<long long>(topt.steps),
              static_cast<long long>(cfg.batch), static_cast<long long>(topt.grad_accum), data.split.train.size(),
              topt.lr, topt.min_lr, omp_get_max_threads(), model.grad_checkpoint() ? ", grad checkpointing" : "");
  if (!resumed && !data.split.held_out.empty()) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);
  save_final_model(cfg, model, adapter, merge_adapter);
}

}  // namespace baimo::cli
