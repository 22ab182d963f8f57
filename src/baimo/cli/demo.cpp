// baimo demo [--input FILE...] [--seconds S] [--out DIR] [--vocab-size N] [--prompt TEXT]... [--seed S]
// The main job on built-in defaults, end to end in about a minute: trains a byte-level BPE tokenizer
// on the corpus (default: the repository's own English and Chinese guides and its C++ sources),
// writes token shards,
// initialises a tiny Llama-style model, pretrains it with AdamW while printing the training and
// validation loss, saves the model directory, and prints a sample for each prompt.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/autograd/tape.h"
#include "baimo/cli/command.h"
#include "baimo/cli/corpus_source.h"
#include "baimo/data/token_shards.h"
#include "baimo/infer/sampler.h"
#include "baimo/model/config.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/bpe_trainer.h"
#include "baimo/tokenizer/trained_tokenizer.h"
#include "baimo/train/lm_trainer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;

struct DemoArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> prompts{"A language model", "模型", "namespace baimo {"};
  std::string out = "runs/demo";
  double seconds = 60;
  size_t vocab_size = 2048;
  int64_t sample_tokens = 60;
  uint64_t seed = 0;
};

// The built-in corpus: the repository's own text, the bilingual guides and README, and its C++
// sources (sorted, so the run is deterministic) -- about 0.6 MB.
std::vector<std::string> default_corpus() {
  const fs::path root(BAIMO_SOURCE_DIR);
  std::vector<std::string> found;
  for (const char* rel : {"docs/guide.md", "docs/guide.zh.md", "README.md"})
    if (fs::exists(root / rel)) found.push_back((root / rel).string());
  std::vector<std::string> sources;
  if (fs::is_directory(root / "src"))
    for (const auto& e : fs::recursive_directory_iterator(root / "src"))
      if (e.is_regular_file() && (e.path().extension() == ".h" || e.path().extension() == ".cpp"))
        sources.push_back(e.path().string());
  std::sort(sources.begin(), sources.end());
  found.insert(found.end(), sources.begin(), sources.end());
  if (found.empty())
    fail("the built-in corpus (docs/ and src/ in {}) is not there; pass your own text with --input FILE", BAIMO_SOURCE_DIR);
  return found;
}

// Documents: paragraphs (runs of non-blank lines) of every input file.
// The corpus as documents (blank-line-separated paragraphs of plain text), read by the one reader.
std::vector<std::string> read_paragraphs(const std::vector<std::string>& paths) {
  std::vector<std::string> docs;
  for (const auto& path : paths) read_documents(path, {"text"}, [&](std::string_view d) { docs.emplace_back(d); });
  return docs;
}

ModelConfig demo_model_config(size_t vocab, int64_t eos) {
  return parse_model_config_text(
      fmt::format(R"({{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": {},
        "hidden_size": 128, "intermediate_size": 352, "num_hidden_layers": 4, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 256, "rope_theta": 10000.0,
        "rms_norm_eps": 1e-5, "tie_word_embeddings": true, "hidden_act": "silu", "eos_token_id": {}}})",
                  vocab, eos),
      "demo model config");
}

// Samples n tokens after the prompt with a full forward pass per token (a tiny model; the
// KV-cache generator is the inference module's job).
void print_sample(const Transformer& model, const Tokenizer& tok, const std::string& prompt, int64_t n,
                  uint64_t seed) {
  std::vector<uint32_t> ids = tok.encode(prompt);
  SamplingParams sp;
  sp.temperature = 0.8f;
  sp.top_k = 40;
  sp.seed = seed;
  Sampler sampler(sp);
  StreamingDecoder out(tok);
  std::printf("  %s", prompt.c_str());
  ag::NoGradGuard no_grad;
  const int64_t ctx = model.config().max_position_embeddings, V = model.config().vocab_size;
  std::vector<int32_t> history;
  for (int64_t i = 0; i < n; ++i) {
    int64_t T = std::min<int64_t>(ids.size(), ctx);
    std::vector<int32_t> window(ids.end() - T, ids.end());
    ag::Var logits = model.logits(Tensor::from_ids({1, T}, window));
    std::vector<float> last(logits.value().data<float>() + (T - 1) * V, logits.value().data<float>() + T * V);
    ag::reset_step();
    int32_t next = sampler.sample(last, history);
    if (tok.eos_id() && static_cast<uint32_t>(next) == *tok.eos_id()) break;
    ids.push_back(next);
    history.push_back(next);
    std::printf("%s", out.push(next).c_str());
    std::fflush(stdout);
  }
  std::printf("%s\n", out.finish().c_str());
}

void run_demo(const DemoArgs& a) {
  if (!(a.seconds > 0)) fail("--seconds must be positive, got {}", a.seconds);
  std::vector<std::string> inputs = a.inputs.empty() ? default_corpus() : expand_inputs(a.inputs);
  prepare_output_dir(a.out);

  std::printf("[1/4] tokenizer: byte-level BPE, %zu tokens, on %zu file(s)\n", a.vocab_size, inputs.size());
  BpeTrainOptions topts;
  topts.vocab_size = a.vocab_size;
  topts.threads = omp_get_max_threads();
  BpeTrainResult trained = train_bpe(topts, corpus_source(inputs, {"text"}));
  Tokenizer tok = to_tokenizer(trained);
  std::string tok_path = (fs::path(a.out) / "tokenizer.json").string();
  tok.save_tokenizer_json(tok_path);
  std::printf("      %zu tokens (%zu merges) -> %s\n", tok.vocab_size(), trained.bpe.merges.size(), tok_path.c_str());

  std::printf("[2/4] data: tokenizing paragraphs into shards (every 10th paragraph held out)\n");
  std::vector<std::string> docs = read_paragraphs(inputs);
  if (docs.size() < 2) fail("the corpus has {} paragraph(s); need at least 2 (one is held out for validation)", docs.size());
  std::string data_dir = (fs::path(a.out) / "data").string();
  ShardIndex index;
  index.vocab_size = static_cast<int64_t>(tok.vocab_size());
  index.uint16 = index.vocab_size <= 65536;
  index.eot_id = static_cast<int32_t>(tok.eos_id().value_or(0));
  uint64_t chars = 0;
  {
    ShardWriter train_w(data_dir, "train", index), val_w(data_dir, "val", index);
    for (size_t i = 0; i < docs.size(); ++i) {
      std::vector<uint32_t> ids = tok.encode(docs[i]);
      std::vector<int32_t> ids32(ids.begin(), ids.end());
      (i % 10 == 9 ? val_w : train_w).add_document(ids32);
      chars += docs[i].size();
    }
    train_w.finish();
    val_w.finish();
  }
  index.save(data_dir);
  TokenDataset train(data_dir, "train"), val(data_dir, "val");
  std::printf("      %zu paragraphs, %llu train + %llu validation tokens (%.2f bytes/token) -> %s\n", docs.size(),
              static_cast<unsigned long long>(train.size()), static_cast<unsigned long long>(val.size()),
              static_cast<double>(chars) / (train.size() + val.size()), data_dir.c_str());

  ModelConfig cfg = demo_model_config(tok.vocab_size(), index.eot_id);
  Transformer model = Transformer::random(cfg, a.seed);
  std::printf("[3/4] model: Llama-style, %lld layers, hidden %lld, %.2fM parameters\n",
              static_cast<long long>(cfg.num_hidden_layers), static_cast<long long>(cfg.hidden_size),
              cfg.parameter_count() / 1e6);

  train::LmTrainOptions o;
  o.steps = 1'000'000;
  o.time_budget_s = a.seconds;
  o.batch = 8;
  o.seq = std::min<int64_t>(128, static_cast<int64_t>(std::min(train.size(), val.size())) - 1);
  o.lr = 2e-3f;
  o.min_lr = 2e-4f;
  o.warmup = 20;
  o.weight_decay = 0.1f;
  o.eval_interval = 200;
  o.eval_batches = 4;
  o.seed = a.seed;
  o.out_dir = a.out;
  std::printf("[4/4] pretraining for %.0f s: batch %lld x %lld tokens, AdamW lr %.0e (metrics -> %s/metrics.jsonl)\n",
              a.seconds, static_cast<long long>(o.batch), static_cast<long long>(o.seq), o.lr, a.out.c_str());
  train::LmTrainer trainer(model, train, &val, o);
  std::printf("      step      loss  val_loss   val_ppl    tokens/s   elapsed\n");
  float initial = trainer.evaluate();
  std::printf("      %4d         -  %8.4f  %8.1f           -        0s\n", 0, initial, std::exp(initial));
  double next_print_s = 5;  // a line at every evaluation, and at least every 5 s
  trainer.run([&](const train::StepMetrics& m) {
    if (!m.has_val && m.elapsed_s < next_print_s) return;
    next_print_s = m.elapsed_s + 5;
    std::string val = m.has_val ? fmt::format("{:8.4f}  {:8.1f}", m.val_loss, std::exp(m.val_loss))
                                : fmt::format("{:>8}  {:>8}", "-", "-");
    std::printf("      %4lld  %8.4f  %s  %10.0f  %7.0fs\n", static_cast<long long>(m.step), m.loss, val.c_str(),
                m.tokens_per_s, m.elapsed_s);
    std::fflush(stdout);
  });

  std::string model_dir = (fs::path(a.out) / "model").string();
  ModelDirSave save;
  save.tokenizer_json = tok_path;
  model.save(model_dir, save);
  std::printf("model saved -> %s\nsamples (temperature 0.8, top-k 40):\n", model_dir.c_str());
  for (const auto& p : a.prompts) print_sample(model, tok, p, a.sample_tokens, a.seed);
}

}  // namespace

BAIMO_COMMAND(1, [](CLI::App& root) {
  auto a = std::make_shared<DemoArgs>();
  auto* sub = root.add_subcommand("demo", "Train a tokenizer and a tiny model on built-in text for a minute, then sample");
  sub->add_option("--input", a->inputs, "Your own plain-text files (default: the repository's guides and sources)")->expected(1, -1);
  sub->add_option("--seconds", a->seconds, "Training time budget")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--out", a->out, "Run directory (tokenizer.json, data/, model/, metrics.jsonl)")->capture_default_str();
  sub->add_option("--vocab-size", a->vocab_size, "Tokenizer vocabulary size")->capture_default_str();
  sub->add_option("--prompt", a->prompts, "Prompts to sample from at the end")->expected(1, -1);
  sub->add_option("--sample-tokens", a->sample_tokens, "Tokens per sample")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", a->seed, "Seed for initialisation, data order and sampling")->capture_default_str();
  sub->callback([a] { run_demo(*a); });
});

}  // namespace baimo::cli
