// baimo distill --teacher T --student S --data FILE... | DIR --out OUT
//               [--loss forward_kl|reverse_kl|jsd --temperature 1 --beta 0.5 --ce-weight 0]
//               [--max-len 1024 --batch 8 --epochs 3 | --steps N --lr 5e-4 ...] [--resume] [--run-config FILE.json]
//               [--teacher-cache FILE --teacher-top-k 64]
// Knowledge distillation: the Trainer over a distillation objective (train/objectives/distill.h): the
// student learns the teacher's full next-token distribution at every counted position.
//   --data chat files: SFT's path (answers only, packed conversations, held-out split / --eval-data);
//   --data DIR of token shards (`baimo data prepare`): pretraining's path (every next token; the
//   shards' "val" split, if any, is the held-out set).
// The teacher: any model baimo opens (model directory, or GGUF, quantized ones kept in their blocks),
// run without a tape; it must share the student's tokenizer: the same tokens for every id and the
// same ids on a probe text (an error names what differs otherwise). Settings: train/distill_config.h.
// Every trainer feature works (checkpoints, exact resume, spike guard, metrics.jsonl with "distill"
// and "ce"; val_loss / val_ppl are the student's cross-entropy on held-out data). Writes
// OUT/run_config.json, OUT/metrics.jsonl, OUT/checkpoints/step_N and OUT/final (the student).
// --teacher-cache FILE (chat data, forward_kl, not on-policy): the teacher's top-k log-probs at every
// answer position (train/teacher_cache.h). A missing FILE is built first with the teacher (rank 0 under
// mpirun, the others wait; atomic, so a kill leaves none); then training reads it and the teacher is not
// even loaded. A FILE of another teacher, other data, another k or temperature is refused with the
// mismatch named.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/cli/finetune_run.h"
#include "baimo/cli/train_run.h"
#include "baimo/compress/zero_mask.h"
#include "baimo/convert/training_base.h"
#include "baimo/data/chat_records.h"
#include "baimo/data/sft_examples.h"
#include "baimo/data/token_shards.h"
#include "baimo/train/distill_config.h"
#include "baimo/train/distributed.h"
#include "baimo/train/mfu.h"
#include "baimo/train/teacher_cache_build.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// Teacher and student must tokenize alike: same vocabulary size, the same token for every id, and
// the same ids for a bilingual probe text (catches different merges or pre-tokenizers).
void check_same_tokenizer(const FinetuneTokenizer& student, const std::string& student_path,
                          const std::string& teacher_path) {
  const BaseTokenizer tb = base_tokenizer(open_model(teacher_path));
  const Tokenizer teacher = Tokenizer::from_tokenizer_json(tb.json_text, tb.where);
  const Tokenizer& s = student.tok;
  const auto mismatch = [&](const std::string& what) {
    fail("the teacher {} and the student {} do not share a tokenizer ({}; {} and {}): distillation compares their "
         "next-token distributions id by id, so both must use the same tokenizer.json",
         teacher_path, student_path, what, tb.where, student.base.where);
  };
  if (teacher.vocab_size() != s.vocab_size())
    mismatch(fmt::format("{} tokens against {}{}", teacher.vocab_size(), s.vocab_size(),
                         student.new_ids ? ", after adding the chat template's tokens to the student's" : ""));
  for (uint32_t id = 0; id < s.vocab_size(); ++id)
    if (teacher.id_to_token(id) != s.id_to_token(id))
      mismatch(fmt::format("id {} is \"{}\" for the teacher and \"{}\" for the student", id, teacher.id_to_token(id),
                           s.id_to_token(id)));
  const char* probe = "The quick brown fox jumps over the lazy dog. 敏捷的棕色狐狸跳过了懒狗。 x = 42;";
  if (teacher.encode(probe) != s.encode(probe)) mismatch("they encode the same text to different ids");
}

bool is_shard_dir(const std::vector<std::string>& data) {
  return data.size() == 1 && fs::is_directory(data[0]) && fs::exists(fs::path(data[0]) / "index.json");
}

// The teacher: frozen, no gradients; a GGUF keeps its block types (int8 kernels for Q8_0 / Q4_0).
Transformer load_teacher(const std::string& path) {
  const ModelPath tp = open_model(path);
  if (!tp.is_dir() && !tp.is_gguf()) fail("{}: not a model directory or a GGUF file", path);
  Transformer teacher = load_training_base(path, tp.is_gguf() ? BaseStorage::Frozen : BaseStorage::F32);
  teacher.set_base_trainable(false);
  return teacher;
}

// The cache of --teacher-cache for these training examples: built with the teacher when missing (by rank
// 0; the others wait), then opened and checked against the teacher's and the data's fingerprints.
std::shared_ptr<const train::TeacherCache> open_teacher_cache(const train::DistillConfig& cfg,
                                                              std::span<const SftExample> train_examples,
                                                              int64_t vocab_size) {
  const std::string& path = cfg.teacher_cache;
  const train::TeacherCacheMeta meta =
      train::teacher_cache_meta(cfg.distill.teacher, train_examples, cfg.teacher_top_k, cfg.distill.loss.temperature,
                                vocab_size);
  Comm& comm = Comm::world();
  if (comm.is_root() && !fs::exists(path)) {
    std::printf("teacher cache: building %s with the teacher: %llu positions, top-k %lld\n", path.c_str(),
                static_cast<unsigned long long>(meta.positions()), static_cast<long long>(meta.top_k));
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    const Transformer teacher = load_teacher(cfg.teacher);
    train::build_teacher_cache(path, teacher, train_examples, meta, cfg.max_len, cfg.batch);
    std::printf("teacher cache: built in %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  comm.barrier();
  auto cache = std::make_shared<const train::TeacherCache>(train::TeacherCache::open(path, meta));
  std::printf("teacher cache: %llu positions, top-k %lld, %.1f MB (%s); the teacher is not run\n",
              static_cast<unsigned long long>(cache->positions()), static_cast<long long>(cache->top_k()),
              static_cast<double>(cache->file_bytes()) / 1e6, path.c_str());
  return cache;
}

void run_distill(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::distill_keys(), where);
  train::DistillConfig cfg = train::parse_distill_config(merged, where);
  train::TrainerOptions& topt = cfg.settings.trainer;
  start_finetune(cfg);
  FinetuneTokenizer ft = open_finetune_tokenizer(cfg);
  check_same_tokenizer(ft, cfg.model, cfg.teacher);

  const bool cached = !cfg.teacher_cache.empty();
  if (cached && is_shard_dir(cfg.data))
    fail("--teacher-cache {}: token shards are drawn as windows starting at any token, so no two epochs share a "
         "window to cache; use chat data, or drop --teacher-cache", cfg.teacher_cache);
  // Live: the teacher now; with a cache only to build it (open_teacher_cache).
  std::optional<Transformer> teacher;
  if (!cached) teacher.emplace(load_teacher(cfg.teacher));

  std::optional<LoraAdapter> adapter;
  Transformer student = load_finetune_model(cfg, ft, adapter);
  cfg.distill.teacher = fs::absolute(cfg.teacher).lexically_normal().string();  // as run_config.json keeps it
  if (cfg.distill.on_policy > 0) {
    if (is_shard_dir(cfg.data))
      fail("--on-policy {}: on-policy distillation samples answers to prompts; token shards have none (use chat data)",
           cfg.distill.on_policy);
    cfg.distill.rollout.eos_ids = end_ids(ft, student.config());
    cfg.distill.rollout.stop = {chat_end_of_turn(ft.kind)};
    // Not owned: ft outlives the run.
    cfg.distill.tokenizer = std::shared_ptr<const Tokenizer>(std::shared_ptr<const void>{}, &ft.tok);
  }
  const train::DistillOptions& dopt = cfg.distill;

  std::unique_ptr<train::Objective> objective;
  // Kept alive for the objective (it holds spans / references into them).
  std::vector<SftExample> train_examples, held_out;
  std::optional<TokenDataset> train_tokens, val_tokens;
  std::string data_desc;
  if (is_shard_dir(cfg.data)) {
    const std::string& dir = cfg.data[0];
    ShardIndex index = ShardIndex::load(dir);
    train_tokens.emplace(dir, "train");
    if (index.splits.count("val") && index.splits.at("val").tokens > static_cast<uint64_t>(cfg.max_len))
      val_tokens.emplace(dir, "val");
    train::LmObjectiveOptions lo;
    lo.batch = cfg.batch;
    lo.seq = cfg.max_len;
    lo.grad_accum = topt.grad_accum;
    if (cfg.eval_rows > 0) lo.eval_batches = (cfg.eval_rows + cfg.batch - 1) / cfg.batch;
    lo.seed = cfg.settings.seed;
    lo.tokenizer_json = run_tokenizer_path(cfg);
    lo.rank = topt.rank;
    lo.world = topt.world;
    objective = std::make_unique<train::LmDistillObjective>(student, *teacher, *train_tokens,
                                                            val_tokens ? &*val_tokens : nullptr, lo, dopt);
    train::resolve_finetune_steps(cfg, static_cast<int64_t>(train_tokens->size() / static_cast<uint64_t>(cfg.max_len)));
    data_desc = fmt::format("token shards {}: {} train tokens, {}", dir, train_tokens->size(),
                            val_tokens ? fmt::format("{} held out", val_tokens->size()) : "no val split (eval on train)");
  } else {
    std::vector<ChatRecord> records, eval_records;
    const ChatFormat format = chat_format_from_name(cfg.format);
    for (const std::string& f : cfg.data) {
      auto r = read_chat_records(f, format, cfg.placeholders);
      records.insert(records.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    for (const std::string& f : cfg.eval_data) {
      auto r = read_chat_records(f, format, cfg.placeholders);
      eval_records.insert(eval_records.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
    SftEncodeOptions enc;
    enc.kind = ft.kind;
    enc.max_len = static_cast<size_t>(cfg.max_len);
    enc.overflow = cfg.skip_long ? SftOverflow::Skip : SftOverflow::Truncate;
    SftDataset data = encode_sft_examples(ft.tok, records, enc);
    if (eval_records.empty()) {
      SftSplit split = split_sft_examples(std::move(data.examples), records.size(), cfg.val_fraction, cfg.settings.seed);
      train_examples = std::move(split.train);
      held_out = std::move(split.held_out);
    } else {
      train_examples = std::move(data.examples);
      held_out = encode_sft_examples(ft.tok, eval_records, enc).examples;
    }
    train::SftObjectiveOptions so;
    so.batch = cfg.batch;
    so.grad_accum = topt.grad_accum;
    so.packing.seq = static_cast<size_t>(cfg.max_len);
    so.packing.pack = cfg.packing;
    so.packing.pad_id = sft_pad_id(ft.tok, ft.kind);
    so.seed = cfg.settings.seed;
    so.eval_rows = cfg.eval_rows;
    so.tokenizer_json = run_tokenizer_path(cfg);
    so.rank = topt.rank;
    so.world = topt.world;
    std::unique_ptr<train::SftDistillObjective> sft;
    if (cached) {
      train::DistillOptions with_cache = dopt;
      with_cache.cache = open_teacher_cache(cfg, train_examples, student.config().vocab_size);
      sft = std::make_unique<train::SftDistillObjective>(student, train_examples, held_out, so, with_cache);
    } else {
      sft = std::make_unique<train::SftDistillObjective>(student, *teacher, train_examples, held_out, so, dopt);
    }
    train::resolve_finetune_steps(cfg, static_cast<int64_t>(sft->rows_per_epoch()));
    objective = std::move(sft);
    data_desc = fmt::format("chat data: {} conversations, template {}: {} train, {} held out; {} answer tokens",
                            data.stats.records, chat_template_name(ft.kind), train_examples.size(), held_out.size(),
                            data.stats.answer_tokens);
  }
  if (topt.peak_gflops == 0) topt.peak_gflops = train::measure_sgemm_peak_gflops();
  write_run_files(cfg, ft, train::distill_path_keys());

  if (!adapter) keep_pruned_zeros(student, topt, "distill");
  train::Trainer trainer(*objective, topt);
  const bool resumed = resume_if_asked(trainer, cfg);
  const ag::DistillLossOptions& l = dopt.loss;
  const std::string teacher_desc =
      teacher ? fmt::format("{:.2f}M parameters", teacher->config().parameter_count() / 1e6)
              : fmt::format("cache (top-{})", cfg.teacher_top_k);
  std::printf("distill: teacher %s -> student %.2fM; %s; loss %s (T %g%s), ce_weight %g%s; %lld steps "
              "of %lld rows x %lld tokens x %lld, lr %g -> %g, %d threads\n",
              teacher_desc.c_str(), student.config().parameter_count() / 1e6, data_desc.c_str(),
              train::divergence_name(l.divergence), l.temperature,
              l.divergence == ag::Divergence::Jsd ? fmt::format(", beta {}", l.beta).c_str() : "", l.ce_weight,
              dopt.on_policy > 0 ? fmt::format(", on-policy {} (T {}, <= {} tokens)", dopt.on_policy,
                                               dopt.rollout.temperature, dopt.rollout.max_new_tokens).c_str()
                                 : "",
              static_cast<long long>(topt.steps), static_cast<long long>(cfg.batch), static_cast<long long>(cfg.max_len),
              static_cast<long long>(topt.grad_accum), topt.lr, topt.min_lr, omp_get_max_threads());
  if (!resumed) evaluate_before_training(trainer);
  std::fflush(stdout);
  run_with_progress(trainer, topt.steps);
  save_final_model(cfg, student, adapter);
}

}  // namespace

BAIMO_COMMAND(49, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("distill", "Knowledge distillation: a student learns a teacher's next-token "
                                             "distributions (forward / reverse KL, JSD) on chat data or token shards");
  add_run_flags(sub, train::distill_keys(), *flags);
  sub->callback([flags] { run_distill(*flags); });
});

}  // namespace baimo::cli
