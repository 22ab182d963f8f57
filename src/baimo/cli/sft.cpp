// baimo sft --model BASE --data FILE... --out DIR [--lora [--lora-r R --lora-alpha A --lora-dropout P
//           --lora-targets q,k,v,o,gate,up,down --rslora --base-dtype q8_0 --lora-trainable-tokens auto|none|IDS]]
//           [--run-config FILE.json]
//           [--format auto|openai|alpaca|sharegpt] [--template auto|chatml|llama3] [--name N --author A]
//           [--max-len 1024 --long truncate|skip --no-packing --batch 8 --epochs 3 | --steps N] [--eval-data FILE...] ...
// Instruction tuning (InstructGPT step 1): the Trainer over the SFT objective (train/objectives/sft.h),
// loss on the answers only, conversations packed per row. Settings: train/sft_config.h (defaults <
// --run-config < flags; a resume reads OUT/run_config.json). Every trainer feature works: exact resume
// after kill -9 (--resume), spike guard, mpirun data parallel, --time-budget, metrics.jsonl.
// The chat template is the base's (tokenizer_config.json / GGUF, else ChatML) or --template. A full
// fine-tune of a base whose tokenizer lacks the template's markers adds them (tokenizer written to
// OUT/tokenizer/, embedding rows initialised as the mean row); a LoRA run cannot (the new rows would
// stay untrained) and says so. A LoRA run trains the embedding (and tied head) rows of the template's
// markers by default (--lora-trainable-tokens auto: PEFT's trainable_token_indices), so that it learns
// to end its turns. Writes OUT/run_config.json, OUT/metrics.jsonl, OUT/checkpoints/step_N
// and OUT/final: a model directory with tokenizer.json and tokenizer_config.json (its chat template),
// or, with --lora, a PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/cli/finetune_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/compress/zero_mask.h"
#include "baimo/data/chat_records.h"
#include "baimo/data/sft_examples.h"
#include "baimo/data/sft_packing.h"
#include "baimo/io/safetensors.h"
#include "baimo/train/mfu.h"
#include "baimo/train/objectives/sft.h"
#include "baimo/train/sft_config.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// The rows of the first steps x grad_accum global micro-batches, as F32 tensors (N, max_len) ids,
// targets, positions, segments and (N) real_tokens: what bench/sft's PyTorch anchor trains on.
void dump_rows(const train::SftObjective& objective, const train::SftConfig& cfg, const std::string& path) {
  const size_t n = static_cast<size_t>(cfg.settings.trainer.steps * cfg.settings.trainer.grad_accum * cfg.batch);
  SftBatch b;
  objective.fill_stream_rows(0, n, b);
  auto floats = [](const std::vector<int32_t>& v) { return std::vector<float>(v.begin(), v.end()); };
  std::vector<float> ids = floats(b.ids), targets = floats(b.targets), positions = floats(b.positions),
                     segments = floats(b.segments), real(n);
  for (size_t r = 0; r < n; ++r) real[r] = static_cast<float>(objective.stream_row_tokens(r));
  const std::vector<int64_t> shape{static_cast<int64_t>(n), static_cast<int64_t>(b.seq)};
  save_safetensors(path, {{"ids", shape, ids},
                          {"targets", shape, targets},
                          {"positions", shape, positions},
                          {"segments", shape, segments},
                          {"real_tokens", {static_cast<int64_t>(n)}, real}});
  std::printf("rows -> %s (%zu rows of %zu tokens)\n", path.c_str(), n, b.seq);
}

// The held-out conversations as OpenAI messages JSONL (what `baimo eval run` and other tools read),
// so that a run's before/after answers can be judged on exactly the data it never trained on.
void write_held_out(const std::string& path, const std::vector<ChatRecord>& records,
                    const std::vector<SftExample>& held_out) {
  std::string text;
  for (const SftExample& e : held_out) {
    const ChatRecord& r = records.at(e.record);
    json messages = json::array();
    for (const ChatMessage& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json line = {{"messages", messages}};
    if (!r.tools.empty()) line["tools"] = json::parse(r.tools, nullptr, false);
    text += line.dump() + "\n";
  }
  write_file_atomic(path, text);
}

void run_sft(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::sft_keys(), where);
  train::SftConfig cfg = train::parse_sft_config(merged, where);
  train::TrainerOptions& topt = cfg.settings.trainer;
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  const Tokenizer& tok = ft.tok;

  // Data: every file's conversations -> examples (answers masked in) -> train / held-out split (or
  // --eval-data's conversations held out).
  auto read_all = [&](const std::vector<std::string>& files) {
    std::vector<ChatRecord> records;
    const ChatFormat format = chat_format_from_name(cfg.format);
    for (const std::string& f : files) {
      std::vector<ChatRecord> r = read_chat_records(f, format, cfg.placeholders);
      records.insert(records.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    return records;
  };
  std::vector<ChatRecord> records = read_all(cfg.data), eval_records = read_all(cfg.eval_data);
  SftEncodeOptions enc;
  enc.kind = ft.kind;
  enc.max_len = static_cast<size_t>(cfg.max_len);
  enc.overflow = cfg.skip_long ? SftOverflow::Skip : SftOverflow::Truncate;
  SftDataset data = encode_sft_examples(tok, records, enc);
  const SftStats& st = data.stats;
  SftSplit split;
  if (eval_records.empty()) {
    split = split_sft_examples(std::move(data.examples), records.size(), cfg.val_fraction, cfg.settings.seed);
  } else {
    split.train = std::move(data.examples);
    split.held_out = encode_sft_examples(tok, eval_records, enc).examples;
  }
  const std::vector<ChatRecord>& held_out_records = eval_records.empty() ? records : eval_records;
  std::printf("data: %zu conversations from %zu file(s), template %s: %zu train, %zu held out; %zu truncated, "
              "%zu skipped, %zu without an answer within max_len %lld; %zu tokens, %zu answer tokens\n",
              st.records, cfg.data.size(), chat_template_name(ft.kind), split.train.size(), split.held_out.size(),
              st.truncated, st.skipped, st.no_answer, static_cast<long long>(cfg.max_len), st.tokens,
              st.answer_tokens);

  std::optional<LoraAdapter> adapter;
  Transformer model = load_finetune_model(cfg, ft, adapter);

  train::SftObjectiveOptions so;
  so.batch = cfg.batch;
  so.grad_accum = topt.grad_accum;
  so.packing.seq = static_cast<size_t>(cfg.max_len);
  so.packing.pack = cfg.packing;
  so.packing.pad_id = sft_pad_id(tok, ft.kind);
  so.seed = cfg.settings.seed;
  so.eval_rows = cfg.eval_rows;
  so.decay_lora = topt.weight_decay > 0;
  so.tokenizer_json = run_tokenizer_path(cfg);
  so.base_model = fs::absolute(cfg.model).lexically_normal().string();
  so.rank = topt.rank;
  so.world = topt.world;
  train::SftObjective objective(model, adapter ? &*adapter : nullptr, split.train, split.held_out, so);
  train::resolve_finetune_steps(cfg, static_cast<int64_t>(objective.rows_per_epoch()));
  if (!cfg.debug_dump_rows.empty()) return dump_rows(objective, cfg, cfg.debug_dump_rows);
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();

  // The run's tokenizer (with the template written out): copied into every checkpoint and the final model.
  const fs::path out(topt.out_dir);
  write_run_files(cfg, ft, train::finetune_path_keys());
  if (topt.rank == 0) write_held_out((out / "held_out.jsonl").string(), held_out_records, split.held_out);

  if (!adapter) keep_pruned_zeros(model, topt, "sft");
  train::Trainer trainer(objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  const ModelConfig& mc = model.config();
  const int64_t trainable = adapter ? adapter->numel() : mc.parameter_count();
  std::printf("sft (%s): %.2fM parameters, %.3fM trainable (%.2f%%), %lld steps of %lld rows x %lld tokens x %lld "
              "(%zu rows per epoch, %s), lr %g -> %g, %d threads%s\n",
              adapter ? "LoRA" : "full", mc.parameter_count() / 1e6, trainable / 1e6,
              100.0 * trainable / std::max<int64_t>(1, mc.parameter_count()), static_cast<long long>(topt.steps),
              static_cast<long long>(cfg.batch), static_cast<long long>(cfg.max_len),
              static_cast<long long>(topt.grad_accum), objective.rows_per_epoch(),
              cfg.packing ? "packed" : "one conversation per row", topt.lr, topt.min_lr, omp_get_max_threads(),
              model.grad_checkpoint() ? ", grad checkpointing" : "");
  if (!resumed && !split.held_out.empty()) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);

  save_final_model(cfg, model, adapter);
}

}  // namespace

BAIMO_COMMAND(45, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("sft", "Instruction tuning (full or LoRA) on chat data: loss on the answers only, "
                                         "packed conversations, checkpoints, exact resume");
  add_run_flags(sub, train::sft_keys(), *flags);
  sub->callback([flags] { run_sft(*flags); });
});

}  // namespace baimo::cli
