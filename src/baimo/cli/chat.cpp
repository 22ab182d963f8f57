// baimo chat --model M [--system TEXT] [sampling flags]: an interactive terminal chat.
// - Each answer streams to stdout. A line ending in '\' continues on the next line (multi-line input).
// - Commands: /reset (forget the conversation), /system TEXT (new system message, conversation reset;
//   "/system" alone removes it), /exit (also end of input).
// - The conversation is rendered with the chat template every turn; the oldest turns are dropped
//   when it no longer fits the context with room for an answer. The KV cache keeps the longest
//   common prefix with the previous turn, so only new text is prefilled.
// - Ctrl-C stops the current answer (the partial answer stays in the history), not the program.
// - --draft-model D / --draft-ngram N: speculative decoding (draft_flags.h); the draft model keeps
//   its own KV cache across turns the same way. After an answer with drafts, its acceptance and
//   tokens per target pass go to stderr.
// - Works with stdin from a pipe (no prompts are printed when stdin is not a terminal). When stdout
//   is not a terminal, a blank line follows every answer, so piped answers stay apart.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "baimo/cli/command.h"
#include "baimo/cli/generation_flags.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/max_tokens.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

struct ChatArgs {
  GenerationFlags gen;
  std::string system;
};

// One user input; false at end of input. A trailing '\' joins the next line.
bool read_input(bool tty, std::string& out) {
  out.clear();
  std::string line;
  bool first = true;
  for (;;) {
    if (tty) {
      std::fputs(first ? "> " : ". ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) return !first;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    first = false;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      out += line + "\n";
      continue;
    }
    out += line;
    return true;
  }
}

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

void run_chat(const ChatArgs& a) {
  apply_threads(a.gen.threads);
  InferenceModel m = load_inference_model(a.gen.model, a.gen.dtype, a.gen.chat_template, a.gen.lora);
  const ModelConfig& c = m.config();
  const int64_t ctx = a.gen.ctx > 0 ? a.gen.ctx : std::min<int64_t>(c.max_position_embeddings, 4096);
  if (ctx < 8) fail("--ctx {} is too small for a chat", ctx);
  // Room kept free for an answer when fitting the history into the context.
  // (--max-tokens within half the context; a quarter of it when not given.)
  const int64_t answer_room = max_tokens_in_context(ctx / 2, 0, a.gen.max_tokens, ctx / 4);
  Engine engine(m.weights, 1, ctx);
  GenerationOptions base = a.gen.options(m.eos_ids, m.config().vocab_size);
  base.constraint = constraint_from_flags(a.gen, *m.tokenizer);
  const std::unique_ptr<Drafter> drafter = a.gen.draft.open(m, a.gen.model, ctx, base.sampling);
  const bool tty = isatty(0);
  const bool out_tty = isatty(1);
  install_interrupt_latch();
  base.stop.push_back(chat_end_of_turn(m.chat_template));
  if (tty)
    std::fprintf(stderr, "baimo chat (%s template, context %lld): /reset, /system TEXT, /exit; end a line with \\ to "
                 "continue it; Ctrl-C stops an answer\n", chat_template_name(m.chat_template),
                 static_cast<long long>(ctx));

  std::string system = a.system, input;
  std::vector<ChatMessage> history;
  std::vector<int32_t> cached;  // tokens in the slot's KV cache
  uint64_t turn = 0;
  while (read_input(tty, input)) {
    const std::string cmd = trimmed(input);
    if (cmd.empty()) continue;
    if (cmd[0] == '/') {
      if (cmd == "/exit" || cmd == "/quit") break;
      if (cmd == "/reset") {
        history.clear();
        std::fprintf(stderr, "[conversation reset]\n");
      } else if (cmd == "/system" || cmd.rfind("/system ", 0) == 0) {
        system = trimmed(cmd.substr(7));
        history.clear();
        std::fprintf(stderr, "[system message %s; conversation reset]\n", system.empty() ? "removed" : "set");
      } else {
        std::fprintf(stderr, "[unknown command %s: use /reset, /system TEXT or /exit]\n", cmd.c_str());
      }
      continue;
    }
    history.push_back({"user", input});
    std::vector<int32_t> prompt;
    for (;;) {
      std::vector<ChatMessage> msgs;
      if (!system.empty()) msgs.push_back({"system", system});
      msgs.insert(msgs.end(), history.begin(), history.end());
      prompt = encode_chat_prompt(m, msgs, a.gen.trusted_specials);
      if (static_cast<int64_t>(prompt.size()) + answer_room <= ctx || history.size() == 1) break;
      history.erase(history.begin(), history.begin() + (history.size() > 2 && history[1].role == "assistant" ? 2 : 1));
      std::fprintf(stderr, "[dropped the oldest turn to fit the context]\n");
    }
    if (static_cast<int64_t>(prompt.size()) >= ctx) {
      std::fprintf(stderr, "[the message is too long: %zu tokens, the context holds %lld]\n", prompt.size(),
                   static_cast<long long>(ctx));
      history.pop_back();
      continue;
    }
    GenerationOptions o = base;
    o.max_tokens = static_cast<int>(max_tokens_in_context(ctx, static_cast<int64_t>(prompt.size()), a.gen.max_tokens));
    o.sampling.seed = base.sampling.seed + turn++;
    size_t reuse = 0;
    while (reuse < cached.size() && reuse < prompt.size() && cached[reuse] == prompt[reuse]) ++reuse;
    Sequence seq(*m.tokenizer, prompt, o);
    GenerateOptions go;
    go.reuse = static_cast<int64_t>(reuse);
    go.cancel = &interrupted();
    a.gen.draft.apply(drafter.get(), go);
    interrupted().store(false);
    GenerateResult r = generate(engine, 0, seq, [](const TokenStep& t) {
      std::fwrite(t.text.data(), 1, t.text.size(), stdout);
      std::fflush(stdout);
      return true;
    }, go);
    std::fputs(out_tty ? "\n" : "\n\n", stdout);
    std::fflush(stdout);
    if (r.finish_reason == "cancelled") std::fprintf(stderr, "[stopped]\n");
    else if (r.finish_reason == "length") std::fprintf(stderr, "[answer cut at the token limit]\n");
    if (drafter && r.drafted > 0) std::fprintf(stderr, "[%s]\n", speculative_stats(r).substr(3).c_str());
    history.push_back({"assistant", r.text});
    cached.assign(seq.tokens().begin(), seq.tokens().begin() + engine.cache().length(0));
  }
}

}  // namespace

BAIMO_COMMAND(41, [](CLI::App& root) {
  auto a = std::make_shared<ChatArgs>();
  auto* sub = root.add_subcommand("chat", "Chat with a model in the terminal (streaming; /reset, /system, /exit)");
  a->gen.add_to(sub, 0);
  sub->add_option("--system", a->system, "System message");
  sub->callback([a] { run_chat(*a); });
});

}  // namespace baimo::cli
