// baimo sft --model BASE --data FILE... --out DIR [--lora [--lora-r R --lora-alpha A --lora-dropout P
//           --lora-targets q,k,v,o,gate,up,down --rslora --base-dtype q8_0]] [--run-config FILE.json]
//           [--format auto|openai|alpaca|sharegpt] [--template auto|chatml|llama3] [--name N --author A]
//           [--max-len 1024 --long truncate|skip --no-packing --batch 8 --epochs 3 | --steps N] ...
// Instruction tuning (InstructGPT step 1): the Trainer over the SFT objective (train/objectives/sft.h),
// loss on the answers only, conversations packed per row. Settings: train/sft_config.h (defaults <
// --run-config < flags; a resume reads OUT/run_config.json). Every trainer feature works: exact resume
// after kill -9 (--resume), spike guard, mpirun data parallel, --time-budget, metrics.jsonl.
// The chat template is the base's (tokenizer_config.json / GGUF, else ChatML) or --template. A full
// fine-tune of a base whose tokenizer lacks the template's markers adds them (tokenizer written to
// OUT/tokenizer/, embedding rows initialised as the mean row); a LoRA run cannot (the new rows would
// stay untrained) and says so. Writes OUT/run_config.json, OUT/metrics.jsonl, OUT/checkpoints/step_N
// and OUT/final: a model directory with tokenizer.json and tokenizer_config.json (its chat template),
// or, with --lora, a PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/cli/train_run.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/convert/training_base.h"
#include "baimo/data/chat_records.h"
#include "baimo/data/sft_examples.h"
#include "baimo/data/sft_packing.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/tokenizer/add_special_tokens.h"
#include "baimo/tokenizer/chat_template_jinja.h"
#include "baimo/train/distributed.h"
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

// The base's tokenizer.json text, its Jinja chat template and where they came from.
struct BaseTokenizer {
  std::string json_text, chat_template, where;
};

BaseTokenizer base_tokenizer(const ModelPath& base) {
  BaseTokenizer t;
  if (base.is_gguf()) {
    GgufReader g(base.path);
    t.json_text = tokenizer_from_gguf(g).to_tokenizer_json();
    t.chat_template = gguf_read_chat_template(g);
    t.where = base.path;
    return t;
  }
  t.where = model_dir_tokenizer(base.path);
  if (t.where.empty()) fail("{}: no tokenizer.json in the model directory", base.path);
  t.json_text = read_file(t.where);
  t.chat_template = model_dir_chat_template(base.path);
  return t;
}

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
  join_ranks(topt);
  Comm& comm = Comm::world();
  const bool root = topt.rank == 0;
  apply_threads(cfg.settings.threads);
  check_fresh_or_resume(topt.out_dir, cfg.settings.resume);
  comm.barrier();  // every rank has looked before rank 0 writes its first checkpoint

  // The tokenizer and the chat template; markers the tokenizer lacks are added (full fine-tune).
  const ModelPath base = open_model(cfg.model);
  if (!base.is_dir() && !base.is_gguf()) fail("{}: not a model directory or a GGUF file", cfg.model);
  BaseTokenizer bt = base_tokenizer(base);
  Tokenizer tok = Tokenizer::from_tokenizer_json(bt.json_text, bt.where);
  const ChatTemplateKind kind = cfg.chat_template == "auto" ? detect_chat_template(bt.chat_template, tok)
                                                            : chat_template_from_name(cfg.chat_template);
  if (kind == ChatTemplateKind::Plain) fail("--template plain has no end-of-turn token to learn: use chatml or llama3");
  std::vector<std::string> missing;
  for (const std::string& m : chat_template_special_tokens(kind))
    if (!tok.token_to_id(m)) missing.push_back(m);
  const fs::path out(topt.out_dir);
  const std::string tokenizer_dir = (out / "tokenizer").string();
  size_t new_ids = 0;
  if (!missing.empty()) {
    if (cfg.lora)
      fail("{}: the tokenizer lacks the {} template's tokens ({}); a LoRA run cannot train new embedding rows: "
           "run a full fine-tune first, or choose a --template whose tokens it has",
           bt.where, chat_template_name(kind), fmt::join(missing, ", "));
    AddedSpecialTokens added = add_special_tokens(bt.json_text, missing, bt.where);
    bt.json_text = added.json;
    new_ids = added.new_ids;
    tok = Tokenizer::from_tokenizer_json(bt.json_text, bt.where + " (with the template's tokens)");
    std::printf("tokenizer: added %s (%zu new ids)\n", fmt::format("{}", fmt::join(missing, " ")).c_str(), new_ids);
  }
  // Data: every file's conversations -> examples (answers masked in) -> train / held-out split.
  std::vector<ChatRecord> records;
  const ChatFormat format = chat_format_from_name(cfg.format);
  for (const std::string& f : cfg.data) {
    std::vector<ChatRecord> r = read_chat_records(f, format, cfg.placeholders);
    records.insert(records.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  }
  SftEncodeOptions enc;
  enc.kind = kind;
  enc.max_len = static_cast<size_t>(cfg.max_len);
  enc.overflow = cfg.skip_long ? SftOverflow::Skip : SftOverflow::Truncate;
  SftDataset data = encode_sft_examples(tok, records, enc);
  const SftStats& st = data.stats;
  SftSplit split = split_sft_examples(std::move(data.examples), records.size(), cfg.val_fraction, cfg.settings.seed);
  std::printf("data: %zu conversations from %zu file(s), template %s: %zu train, %zu held out; %zu truncated, "
              "%zu skipped, %zu without an answer within max_len %lld; %zu tokens, %zu answer tokens\n",
              st.records, cfg.data.size(), chat_template_name(kind), split.train.size(), split.held_out.size(),
              st.truncated, st.skipped, st.no_answer, static_cast<long long>(cfg.max_len), st.tokens,
              st.answer_tokens);

  // The model: a full fine-tune trains f32 weights; LoRA trains an adapter over a frozen base that
  // stays in its file's storage (a quantized GGUF stays quantized: QLoRA on a CPU).
  // An f32 base of a LoRA run stays f32 Vars without gradients (the fused BLAS product of ag::lora_linear);
  // a GGUF base or --base-dtype f16|bf16|q8_0|q4_0 stays in its blocks (frozen matrices, QLoRA).
  const DType dir_type = cfg.base_dtype == "auto" ? DType::F32 : parse_gguf_type(cfg.base_dtype);
  const bool frozen = cfg.lora && (base.is_gguf() || dir_type != DType::F32);
  Transformer model = load_training_base(cfg.model, frozen ? BaseStorage::Frozen : BaseStorage::F32,
                                         base.is_dir() ? dir_type : DType::F32);
  if (base.is_gguf() && cfg.base_dtype != "auto" && cfg.base_dtype != "f32")
    std::fprintf(stderr, "baimo sft: note: --base-dtype is for model directories; %s keeps its own types\n",
                 cfg.model.c_str());
  if (new_ids > 0 || static_cast<int64_t>(tok.vocab_size()) > model.config().vocab_size)
    model.resize_vocab(std::max<int64_t>(model.config().vocab_size, static_cast<int64_t>(tok.vocab_size())));
  std::optional<LoraAdapter> adapter;
  if (cfg.lora) {
    adapter.emplace(LoraAdapter::create(model.config(), cfg.lora_config, cfg.settings.seed));
    model.attach_lora(&*adapter);
    model.set_base_trainable(false);
  }

  train::SftObjectiveOptions so;
  so.batch = cfg.batch;
  so.grad_accum = topt.grad_accum;
  so.packing.seq = static_cast<size_t>(cfg.max_len);
  so.packing.pack = cfg.packing;
  so.packing.pad_id = sft_pad_id(tok, kind);
  so.seed = cfg.settings.seed;
  so.eval_rows = cfg.eval_rows;
  so.decay_lora = topt.weight_decay > 0;
  so.tokenizer_json = (fs::path(tokenizer_dir) / "tokenizer.json").string();
  so.base_model = fs::absolute(cfg.model).lexically_normal().string();
  so.rank = topt.rank;
  so.world = topt.world;
  train::SftObjective objective(model, adapter ? &*adapter : nullptr, split.train, split.held_out, so);
  train::resolve_sft_steps(cfg, static_cast<int64_t>(objective.rows_per_epoch()));
  if (!cfg.debug_dump_rows.empty()) return dump_rows(objective, cfg, cfg.debug_dump_rows);
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();

  // The run's tokenizer (with the template written out): copied into every checkpoint and the final model.
  prepare_output_dir(topt.out_dir);
  if (root) {
    fs::create_directories(tokenizer_dir);
    write_file_atomic((fs::path(tokenizer_dir) / "tokenizer.json").string(), bt.json_text);
    json tc = {{"chat_template", chat_template_jinja(kind)}};
    if (tok.token_to_id(chat_end_of_turn(kind))) tc["eos_token"] = chat_end_of_turn(kind);
    write_file_atomic((fs::path(tokenizer_dir) / "tokenizer_config.json").string(), tc.dump(2) + "\n");
    write_held_out((out / "held_out.jsonl").string(), records, split.held_out);
  }

  json saved = train::absolute_paths(cfg.merged, train::sft_path_keys());
  saved["resume_from"] = "";
  topt.run_config = saved;
  if (root) write_file_atomic((out / "run_config.json").string(), saved.dump(2) + "\n");
  comm.barrier();  // the tokenizer files exist before any rank's first checkpoint copies them

  train::Trainer trainer(objective, topt);
  bool resumed = false;
  if (cfg.settings.resume) {
    if (auto step = trainer.resume(cfg.settings.resume_from)) {
      std::printf("resumed at step %lld\n", static_cast<long long>(*step));
      resumed = true;
    } else {
      std::printf("no checkpoint in %s: starting fresh\n", (out / "checkpoints").c_str());
    }
  }
  const ModelConfig& mc = model.config();
  const int64_t trainable = adapter ? adapter->numel() : mc.parameter_count();
  std::printf("sft (%s): %.2fM parameters, %.3fM trainable (%.2f%%), %lld steps of %lld rows x %lld tokens x %lld "
              "(%zu rows per epoch, %s), lr %g -> %g, %d threads\n",
              adapter ? "LoRA" : "full", mc.parameter_count() / 1e6, trainable / 1e6,
              100.0 * trainable / std::max<int64_t>(1, mc.parameter_count()), static_cast<long long>(topt.steps),
              static_cast<long long>(cfg.batch), static_cast<long long>(cfg.max_len),
              static_cast<long long>(topt.grad_accum), objective.rows_per_epoch(),
              cfg.packing ? "packed" : "one conversation per row", topt.lr, topt.min_lr, omp_get_max_threads());
  if (!resumed && !split.held_out.empty())
    if (auto v = trainer.evaluate())
      std::printf("eval step 0: val_loss %.4f ppl %.2f (before training)\n", *v, std::exp(*v));
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);

  if (root) {
    const std::string final_dir = (out / "final").string();
    if (adapter) {
      save_peft_adapter(final_dir, *adapter, so.base_model);
    } else {
      ModelDirSave save;
      save.tokenizer_json = so.tokenizer_json;
      model.save(final_dir, save);
    }
    std::printf("final %s -> %s\n", adapter ? "adapter" : "model", final_dir.c_str());
  }
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
