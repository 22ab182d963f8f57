#include "baimo/cli/finetune_run.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/cli/threads_flag.h"
#include "baimo/cli/train_run.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/convert/training_base.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/model_dir.h"
#include "baimo/tokenizer/add_special_tokens.h"
#include "baimo/tokenizer/chat_template_jinja.h"
#include "baimo/train/distributed.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

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

void start_finetune(train::FinetuneConfig& cfg) {
  train::TrainerOptions& topt = cfg.settings.trainer;
  join_ranks(topt);
  apply_threads(cfg.settings.threads);
  check_fresh_or_resume(topt.out_dir, cfg.settings.resume);
  Comm::world().barrier();  // every rank has looked before rank 0 writes its first checkpoint
}

FinetuneTokenizer open_finetune_tokenizer(const train::FinetuneConfig& cfg) {
  const ModelPath base = open_model(cfg.model);
  if (!base.is_dir() && !base.is_gguf()) fail("{}: not a model directory or a GGUF file", cfg.model);
  BaseTokenizer base_tok = base_tokenizer(base);
  Tokenizer tok = Tokenizer::from_tokenizer_json(base_tok.json_text, base_tok.where);
  FinetuneTokenizer ft{std::move(base_tok), std::move(tok), ChatTemplateKind::ChatML, 0};
  BaseTokenizer& bt = ft.base;
  ft.kind = cfg.chat_template == "auto" ? detect_chat_template(bt.chat_template, ft.tok)
                                        : chat_template_from_name(cfg.chat_template);
  if (ft.kind == ChatTemplateKind::Plain) fail("--template plain has no end-of-turn token to learn: use chatml or llama3");
  std::vector<std::string> missing;
  for (const std::string& m : chat_template_special_tokens(ft.kind))
    if (!ft.tok.token_to_id(m)) missing.push_back(m);
  if (missing.empty()) return ft;
  if (cfg.lora)
    fail("{}: the tokenizer lacks the {} template's tokens ({}); a LoRA run cannot train new embedding rows: "
         "run a full fine-tune first, or choose a --template whose tokens it has",
         bt.where, chat_template_name(ft.kind), fmt::join(missing, ", "));
  AddedSpecialTokens added = add_special_tokens(bt.json_text, missing, bt.where);
  bt.json_text = added.json;
  ft.new_ids = added.new_ids;
  ft.tok = Tokenizer::from_tokenizer_json(bt.json_text, bt.where + " (with the template's tokens)");
  std::printf("tokenizer: added %s (%zu new ids)\n", fmt::format("{}", fmt::join(missing, " ")).c_str(), ft.new_ids);
  return ft;
}

std::vector<int32_t> resolve_trainable_tokens(const std::string& spec, const FinetuneTokenizer& ft) {
  if (spec == "none") return {};
  std::vector<int32_t> ids;
  if (spec == "auto") {
    for (const std::string& m : chat_template_special_tokens(ft.kind))
      if (auto id = ft.tok.token_to_id(m)) {
        const auto i = static_cast<int32_t>(*id);
        if (std::find(ids.begin(), ids.end(), i) == ids.end()) ids.push_back(i);
      }
    return ids;
  }
  ids = parse_token_ids(spec, "--lora-trainable-tokens");
  for (int32_t id : ids)
    if (id >= static_cast<int32_t>(ft.tok.vocab_size()))
      fail("--lora-trainable-tokens: id {} is outside the tokenizer's vocabulary of {}", id, ft.tok.vocab_size());
  return ids;
}

Transformer load_finetune_model(const train::FinetuneConfig& cfg, const FinetuneTokenizer& ft,
                                std::optional<LoraAdapter>& adapter,
                                const std::function<Transformer(Transformer)>& convert) {
  // An f32 base of a LoRA run stays f32 Vars without gradients (the fused BLAS product of
  // ag::lora_linear); a GGUF base or --base-dtype f16|bf16|q8_0|q4_0 stays in its blocks (frozen
  // matrices: QLoRA on a CPU).
  const ModelPath base = open_model(cfg.model);
  const DType dir_type = cfg.base_dtype == "auto" ? DType::F32 : parse_gguf_type(cfg.base_dtype);
  const bool frozen = cfg.lora && (base.is_gguf() || dir_type != DType::F32);
  Transformer model = load_training_base(cfg.model, frozen ? BaseStorage::Frozen : BaseStorage::F32,
                                         base.is_dir() ? dir_type : DType::F32);
  if (base.is_gguf() && cfg.base_dtype != "auto" && cfg.base_dtype != "f32")
    std::fprintf(stderr, "baimo: note: --base-dtype is for model directories; %s keeps its own types\n",
                 cfg.model.c_str());
  if (ft.new_ids > 0 || static_cast<int64_t>(ft.tok.vocab_size()) > model.config().vocab_size)
    model.resize_vocab(std::max<int64_t>(model.config().vocab_size, static_cast<int64_t>(ft.tok.vocab_size())));
  if (convert) model = convert(std::move(model));
  if (cfg.lora) {
    LoraConfig lc = cfg.lora_config;
    lc.trainable_tokens = resolve_trainable_tokens(cfg.lora_trainable_tokens, ft);
    adapter.emplace(LoraAdapter::create(model.config(), lc, cfg.settings.seed));
    if (adapter->token_rows.defined()) {
      const Tensor rows = model.embedding_rows(lc.trainable_tokens);
      std::copy_n(rows.data<float>(), rows.numel(), adapter->token_rows.value().data<float>());
      std::string names;
      for (int32_t id : lc.trainable_tokens)
        names += fmt::format(" {}={}", ft.tok.id_to_token(static_cast<uint32_t>(id)), id);
      std::printf("LoRA trainable tokens:%s (embedding%s rows)\n", names.c_str(),
                  model.config().tie_word_embeddings ? " and tied head" : "");
    }
    model.attach_lora(&*adapter);
    model.set_base_trainable(false);
  }
  model.set_grad_checkpoint(cfg.settings.grad_checkpoint);
  return model;
}

std::string run_tokenizer_path(const train::FinetuneConfig& cfg) {
  return (fs::path(cfg.settings.trainer.out_dir) / "tokenizer" / "tokenizer.json").string();
}

void write_run_files(train::FinetuneConfig& cfg, const FinetuneTokenizer& ft,
                     const std::vector<std::string>& path_keys) {
  train::TrainerOptions& topt = cfg.settings.trainer;
  const fs::path out(topt.out_dir);
  prepare_output_dir(topt.out_dir);
  json saved = train::absolute_paths(cfg.merged, path_keys);
  saved["resume_from"] = "";
  topt.run_config = saved;
  if (topt.rank == 0) {
    const fs::path tokenizer_dir = out / "tokenizer";
    fs::create_directories(tokenizer_dir);
    write_file_atomic((tokenizer_dir / "tokenizer.json").string(), ft.base.json_text);
    json tc = {{"chat_template", chat_template_jinja(ft.kind)}};
    if (ft.tok.token_to_id(chat_end_of_turn(ft.kind))) tc["eos_token"] = chat_end_of_turn(ft.kind);
    write_file_atomic((tokenizer_dir / "tokenizer_config.json").string(), tc.dump(2) + "\n");
    write_file_atomic((out / "run_config.json").string(), saved.dump(2) + "\n");
  }
  Comm::world().barrier();  // the tokenizer files exist before any rank's first checkpoint copies them
}

bool resume_if_asked(train::Trainer& trainer, const train::FinetuneConfig& cfg) {
  if (!cfg.settings.resume) return false;
  if (auto step = trainer.resume(cfg.settings.resume_from)) {
    std::printf("resumed at step %lld\n", static_cast<long long>(*step));
    return true;
  }
  std::printf("no checkpoint in %s: starting fresh\n",
              (fs::path(cfg.settings.trainer.out_dir) / "checkpoints").string().c_str());
  return false;
}

void save_final_model(const train::FinetuneConfig& cfg, Transformer& model, const std::optional<LoraAdapter>& adapter,
                      bool merge_adapter) {
  if (cfg.settings.trainer.rank != 0) return;
  const std::string final_dir = (fs::path(cfg.settings.trainer.out_dir) / "final").string();
  if (adapter && !merge_adapter) {
    save_peft_adapter(final_dir, *adapter, fs::absolute(cfg.model).lexically_normal().string());
    std::printf("final adapter -> %s\n", final_dir.c_str());
    return;
  }
  if (adapter) {  // one model directory: the base with the adapter merged in
    model.attach_lora(nullptr);
    merge_lora(model, *adapter);
  }
  ModelDirSave save;
  save.tokenizer_json = run_tokenizer_path(cfg);
  model.save(final_dir, save);
  std::printf("final %s%s -> %s\n", model.config().is_reward_model() ? "reward model" : "model",
              adapter ? " (adapter merged)" : "", final_dir.c_str());
}

// The ids that end an answer: the template's end-of-turn token, the tokenizer's and the config's EOS.
std::vector<int32_t> end_ids(const FinetuneTokenizer& ft, const ModelConfig& mc) {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id) {
    if (id >= 0 && id < mc.vocab_size && std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(static_cast<int32_t>(id));
  };
  if (auto eot = ft.tok.token_to_id(chat_end_of_turn(ft.kind))) add(*eot);
  if (auto eos = ft.tok.eos_id()) add(*eos);
  for (int64_t e : mc.eos_token_ids) add(e);
  return ids;
}

}  // namespace baimo::cli
