// baimo generate --model M --prompt TEXT [sampling flags] [--logprobs K] [--chat-template T [--system S]]
//                [--draft-model D | --draft-ngram N] [--draft-k K]   (speculative decoding, draft_flags.h)
// Streams the continuation of TEXT to stdout (with --chat-template: the answer to TEXT as a user
// message). Statistics go to stderr; with --logprobs K, one line per token with its log-prob and
// the K most likely alternatives, also on stderr: streamed beside the text when stdout and stderr
// go to different places, after the text when they are the same terminal or file (never mixed into
// it). A rate is printed only when something was timed (not for a single generated token).
// Ctrl-C stops the answer early.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/cli/generation_flags.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/max_tokens.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

struct GenerateArgs {
  GenerationFlags gen;
  std::string prompt, system;
  int logprobs = -1;
  bool quiet = false;
};

// A token's bytes in quotes, control characters escaped.
std::string shown(const Tokenizer& tok, int32_t id) {
  std::string s = "\"";
  for (unsigned char ch : tok.token_bytes(static_cast<uint32_t>(id))) {
    if (ch == '\n') s += "\\n";
    else if (ch == '\t') s += "\\t";
    else if (ch == '"' || ch == '\\') s += std::string("\\") + static_cast<char>(ch);
    else if (ch < 0x20 || ch == 0x7f) s += fmt::format("\\x{:02x}", ch);
    else s += static_cast<char>(ch);
  }
  return s + "\"";
}

// Whether stdout and stderr are the same terminal or file (their lines would interleave).
bool same_output() {
  struct stat out {}, err {};
  if (::fstat(1, &out) != 0 || ::fstat(2, &err) != 0) return false;
  return out.st_dev == err.st_dev && out.st_ino == err.st_ino;
}

// ", 12.3 tok/s", or "" when nothing was measured (no token timed, or under a millisecond): the
// first generated token comes from the prefill, so one generated token has no decode rate.
std::string rate(int64_t tokens, double seconds) {
  if (tokens < 1 || seconds < 1e-3) return "";
  return fmt::format(", {:.1f} tok/s", tokens / seconds);
}

void run_generate(const GenerateArgs& a) {
  const int threads = apply_threads(a.gen.threads);
  InferenceModel m = load_inference_model(a.gen.model, a.gen.dtype, a.gen.chat_template, a.gen.lora);
  const ModelConfig& c = m.config();
  const int64_t ctx = a.gen.ctx > 0 ? a.gen.ctx : std::min<int64_t>(c.max_position_embeddings, 4096);
  GenerationOptions o = a.gen.options(m.eos_ids, m.config().vocab_size);
  o.constraint = constraint_from_flags(a.gen, *m.tokenizer);
  o.top_logprobs = a.logprobs;
  std::vector<int32_t> prompt;
  if (!a.gen.chat_template.empty()) {
    std::vector<ChatMessage> msgs;
    if (!a.system.empty()) msgs.push_back({"system", a.system});
    msgs.push_back({"user", a.prompt});
    prompt = encode_chat_prompt(m, msgs, a.gen.trusted_specials);
    o.stop.push_back(chat_end_of_turn(m.chat_template));
  } else if (!a.system.empty()) {
    fail("--system needs --chat-template");
  } else {
    prompt = encode_prompt(m, a.prompt);  // a raw prompt: special-token text is meant
  }
  if (prompt.empty()) {
    if (auto bos = m.tokenizer->bos_id()) prompt.push_back(static_cast<int32_t>(*bos));
    else if (!m.eos_ids.empty()) prompt.push_back(m.eos_ids.front());
    else fail("the prompt is empty and the model has no BOS/EOS token to start from");
  }
  if (static_cast<int64_t>(prompt.size()) >= ctx)
    fail("the prompt has {} tokens; the context holds {} (raise --ctx)", prompt.size(), ctx);
  // A --max-tokens below 1 stays as given (GenerationOptions refuses it).
  if (o.max_tokens > 0)
    o.max_tokens = static_cast<int>(max_tokens_in_context(ctx, static_cast<int64_t>(prompt.size()), o.max_tokens));
  const std::unique_ptr<Drafter> drafter = a.gen.draft.open(m, a.gen.model, ctx, o.sampling);
  Engine engine(m.weights, 1, ctx);
  Sequence seq(*m.tokenizer, prompt, o);
  install_interrupt_latch();
  GenerateOptions go;
  go.cancel = &interrupted();
  a.gen.draft.apply(drafter.get(), go);
  const bool hold_logprobs = a.logprobs >= 0 && same_output();
  std::vector<std::string> held;
  GenerateResult r = generate(engine, 0, seq, [&](const TokenStep& t) {
    std::fwrite(t.text.data(), 1, t.text.size(), stdout);
    std::fflush(stdout);
    if (a.logprobs >= 0 && t.id >= 0) {
      std::string line = fmt::format("logprob {:>10.4f} {}", t.logprob, shown(*m.tokenizer, t.id));
      for (auto [id, lp] : t.top) line += fmt::format("  | {} {:.4f}", shown(*m.tokenizer, id), lp);
      if (hold_logprobs) held.push_back(std::move(line));
      else std::fprintf(stderr, "%s\n", line.c_str());
    }
    return true;
  }, go);
  std::printf("\n");
  std::fflush(stdout);
  for (const std::string& line : held) std::fprintf(stderr, "%s\n", line.c_str());
  if (!a.quiet) {
    const size_t n = r.tokens.size();
    std::fprintf(stderr, "[prompt %lld tokens%s | generated %zu token%s%s%s | finish: %s | seed %llu | %d threads]\n",
                 static_cast<long long>(r.prompt_tokens), rate(r.prefilled_tokens, r.prefill_seconds).c_str(), n,
                 n == 1 ? "" : "s", rate(static_cast<int64_t>(n) - 1, r.decode_seconds).c_str(),
                 drafter ? speculative_stats(r).c_str() : "",
                 r.finish_reason.c_str(), static_cast<unsigned long long>(o.sampling.seed), threads);
  }
}

}  // namespace

BAIMO_COMMAND(40, [](CLI::App& root) {
  auto a = std::make_shared<GenerateArgs>();
  auto* sub = root.add_subcommand("generate", "Continue a prompt with a model, streaming the text to stdout");
  a->gen.add_to(sub, 256);
  sub->add_option("--prompt", a->prompt, "Prompt text")->required();
  sub->add_option("--system", a->system, "System message (with --chat-template)");
  sub->add_option("--logprobs", a->logprobs, "Print each token's log-prob and K alternatives to stderr")
      ->check(CLI::Range(0, 100));
  sub->add_flag("--quiet", a->quiet, "No statistics line on stderr");
  sub->callback([a] { run_generate(*a); });
});

}  // namespace baimo::cli
