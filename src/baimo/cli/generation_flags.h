// Flags shared by `baimo generate` and `baimo chat`: model loading, context, sampling and speculative
// decoding (draft_flags.h)
// (infer/sampler.h semantics and checks; defaults as llama.cpp: temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05). Counts are checked here (--ctx > 0, --max-tokens and --top-k >= 0, --threads > 0).
// --json-schema FILE / --grammar FILE (one of them) constrain every answer (infer/constrained/): the
// file is read and compiled by constraint(), errors name the file.
// Also the Ctrl-C latch: install_interrupt_latch() makes SIGINT set interrupted() instead of
// killing the program (reads are restarted), so a running answer can stop at the next token.
#pragma once
#include <atomic>
#include <csignal>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baimo/cli/draft_flags.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/infer/constrained/constraint.h"
#include "baimo/infer/sequence.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {

struct GenerationFlags {
  std::string model, dtype, chat_template, lora;
  int64_t ctx = 0;  // 0 = min(max_position_embeddings, 4096)
  int max_tokens = 0;
  int threads = 0;  // 0 = $OMP_NUM_THREADS, else all cores
  float temperature = 0.8f, top_p = 0.95f, min_p = 0.05f;
  int top_k = 40;
  float repeat_penalty = 1.0f, presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop, logit_bias;
  bool ignore_eos = false;
  bool trusted_specials = false;  // special-token text in chat messages becomes control tokens
  DraftFlags draft;               // speculative decoding
  std::string json_schema_file, grammar_file;

  void add_to(CLI::App* sub, int default_max_tokens) {
    max_tokens = default_max_tokens;
    sub->add_option("--model", model, "Model directory or .gguf file")->required();
    sub->add_option("--dtype", dtype, "Convert a model directory's weights at load: f32, f16, bf16, q8_0, q4_0");
    sub->add_option("--lora", lora, "PEFT LoRA adapter directory applied to the weights at load");
    sub->add_option("--ctx", ctx, "Context length in tokens (default: the model's, at most 4096)")
        ->check(CLI::PositiveNumber);
    add_threads_flag(sub, threads);
    sub->add_option("--chat-template", chat_template, "chatml, llama3 or plain (default: from the model)");
    sub->add_option("--max-tokens", max_tokens, "Most tokens to generate")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--temperature", temperature, "0 = greedy")->capture_default_str();
    sub->add_option("--top-k", top_k, "Keep the k most likely tokens (0 = off)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--top-p", top_p, "Nucleus sampling mass (1 = off)")->capture_default_str();
    sub->add_option("--min-p", min_p, "Drop tokens below min-p x the top probability (0 = off)")->capture_default_str();
    sub->add_option("--repeat-penalty", repeat_penalty, "Repetition penalty (1 = off)")->capture_default_str();
    sub->add_option("--presence-penalty", presence_penalty, "OpenAI presence penalty")->capture_default_str();
    sub->add_option("--frequency-penalty", frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
    sub->add_option("--seed", seed, "Random seed (same seed => same text; default: random)");
    sub->add_option("--stop", stop, "Stop string (repeatable)")->take_all();
    sub->add_option("--logit-bias", logit_bias, "ID=BIAS added to a token's logit (repeatable; -100 bans it)")->take_all();
    auto* js = sub->add_option("--json-schema", json_schema_file, "Constrain answers to JSON valid under this JSON Schema file");
    sub->add_option("--grammar", grammar_file, "Constrain answers to this GBNF grammar file (llama.cpp syntax, start rule root)")
        ->excludes(js);
    sub->add_flag("--ignore-eos", ignore_eos, "Keep going past end-of-sequence tokens");
    sub->add_flag("--trust-special-tokens", trusted_specials,
                  "Chat messages may spell special tokens (e.g. <|im_end|>); default: message text is plain text");
    draft.add_to(sub);
  }

  GenerationOptions options(const std::vector<int32_t>& eos_ids, int64_t vocab_size) const {
    GenerationOptions o;
    o.max_tokens = max_tokens;
    o.stop = stop;
    o.ignore_eos = ignore_eos;
    o.eos_ids = eos_ids;
    SamplingParams& s = o.sampling;
    s.temperature = temperature;
    s.top_k = top_k;
    s.top_p = top_p;
    s.min_p = min_p;
    s.repetition_penalty = repeat_penalty;
    s.presence_penalty = presence_penalty;
    s.frequency_penalty = frequency_penalty;
    s.seed = seed ? *seed : std::random_device{}();
    for (const auto& lb : logit_bias) {
      const size_t eq = lb.find('=');
      size_t used_id = 0, used_bias = 0;
      long long id = -1;
      float bias = 0;
      try {
        if (eq == std::string::npos) throw std::invalid_argument("no '='");
        id = std::stoll(lb.substr(0, eq), &used_id);
        bias = std::stof(lb.substr(eq + 1), &used_bias);
      } catch (const std::exception&) {
        fail("--logit-bias '{}': expected ID=BIAS, e.g. 42=-100", lb);
      }
      if (used_id != eq || used_bias != lb.size() - eq - 1) fail("--logit-bias '{}': expected ID=BIAS, e.g. 42=-100", lb);
      if (id < 0 || id >= vocab_size) fail("--logit-bias '{}': token id {} is outside the vocabulary (size {})", lb, id, vocab_size);
      s.logit_bias[static_cast<int32_t>(id)] = bias;
    }
    return o;
  }
};

// The --json-schema / --grammar constraint (null without either); baimo::Error names the file.
inline std::shared_ptr<const constrained::Constraint> constraint_from_flags(const GenerationFlags& f, const Tokenizer& tok) {
  const std::string& path = f.json_schema_file.empty() ? f.grammar_file : f.json_schema_file;
  if (path.empty()) return nullptr;
  const std::string text = read_file(path);
  try {
    if (!f.json_schema_file.empty()) return constrained::Constraint::from_json_schema(text, tok);
    return constrained::Constraint::from_grammar(text, tok, path);
  } catch (const Error& e) {
    if (!f.json_schema_file.empty()) fail("--json-schema {}: {}", path, e.what());
    throw;  // grammar errors already start with the path
  }
}

inline std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline void install_interrupt_latch() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { interrupted().store(true); };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace baimo::cli
