// baimo serve --model M [--host 127.0.0.1] [--port 8080] [--parallel N] [--ctx N] [--api-key KEY]
//             [--max-queue N] [--model-name NAME] [--chat-template chatml|llama3|plain] [--dtype q8_0|...] [--lora DIR]
//             [--max-body BYTES] [--max-client-connections N] [--header-timeout S] [--body-timeout S]
//             [--reuse-port] [--threads N] [--draft-model D [--draft-dtype T] | --draft-ngram N]
//             [--draft-k K] [--draft-fixed-k]
// The OpenAI-compatible HTTP server with continuous batching and the web chat page
// (serve/api_server.h). SIGINT/SIGTERM shut it down gracefully: requests in flight get a few
// seconds to finish, new ones are refused, then the process exits 0.
// A reward model (config.json *ForSequenceClassification, `baimo rm`) starts no generation engine:
// the server answers POST /v1/rewards (and /v1/models, /health, /metrics) instead; --parallel,
// --max-queue, --dtype and --lora do not apply to it.
// --draft-model D / --draft-ngram N: speculative decoding in every slot (infer/batch_scheduler.h: a
// draft model's steps for all slots batched, verified in the target's continuous batch; cli/draft_flags.h);
// /metrics then counts drafted and accepted tokens.
#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>

#include "baimo/cli/command.h"
#include "baimo/cli/draft_flags.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/eval/reward_scores.h"
#include "baimo/infer/batch_scheduler.h"
#include "baimo/infer/inference_model.h"
#include "baimo/serve/api_server.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/serve/model_id.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/chat_template_jinja.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", api_key, model_name, chat_template, dtype, lora;
  int port = 8080, parallel = 4, max_queue = 64, max_client_connections = 128;
  double header_timeout = 10, body_timeout = 30;
  bool reuse_port = false;
  int64_t ctx = 0;
  int threads = 0;
  size_t max_body = 8u << 20;
  DraftFlags draft;
};

serve::ServeOptions serve_options(const ServeArgs& a) {
  serve::ServeOptions opts;
  opts.host = a.host;
  opts.port = a.port;
  opts.api_key = a.api_key;
  opts.max_body_bytes = a.max_body;
  opts.reuse_port = a.reuse_port;
  opts.max_client_connections = a.max_client_connections;
  opts.head_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.header_timeout * 1000));
  opts.body_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.body_timeout * 1000));
  return opts;
}

// The context of a model: --ctx, at most the model's maximum.
int64_t serve_ctx(const ServeArgs& a, const ModelConfig& cfg) {
  const int64_t ctx = a.ctx > 0 ? a.ctx : cfg.max_position_embeddings;
  if (ctx > cfg.max_position_embeddings)
    fail("--ctx {} exceeds the model's max_position_embeddings {}", ctx, cfg.max_position_embeddings);
  return ctx;
}

// Serves until SIGINT/SIGTERM: a watcher thread waits for the (blocked) signals and shuts the server
// down gracefully; `stop` runs after listen() returns (the scheduler's, for a chat model).
void serve_until_signal(serve::ApiServer& server, const sigset_t& signals, const std::function<void()>& stop) {
  std::atomic<bool> shutting_down{false};
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    shutting_down = true;
    std::fprintf(stderr, "baimo serve: %s, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.shutdown(std::chrono::seconds(10));
  });
  server.listen();
  if (stop) stop();
  // listen() returns after shutdown() (the watcher) or on a socket error: then wake the watcher.
  if (!shutting_down) kill(getpid(), SIGTERM);
  watcher.join();
  std::printf("baimo serve: stopped\n");
}

void run_reward_serve(const ServeArgs& a, const sigset_t& signals) {
  if (!a.dtype.empty() || !a.lora.empty())
    fail("{} is a reward model: --dtype and --lora are for chat models (it is scored in f32)", a.model);
  auto scorer = std::make_shared<const RewardScorer>(load_reward_scorer(a.model, a.chat_template));
  const ModelConfig& cfg = scorer->config();
  const int64_t ctx = serve_ctx(a, cfg);
  const std::string name = a.model_name.empty() ? serve::default_model_id(a.model) : a.model_name;
  serve::ModelContext mc{scorer->tokenizer.get(), scorer->chat_template, name, ctx, cfg.vocab_size, {},
                         cfg.architecture(), ""};
  serve::ApiServer server(scorer, mc, serve_options(a));
  const int port = server.bind();
  std::printf("baimo serve: reward model %s (%s, %.1fM parameters), chat template %s, context %lld\n", name.c_str(),
              cfg.architecture().c_str(), cfg.parameter_count() / 1e6, chat_template_name(scorer->chat_template),
              static_cast<long long>(ctx));
  std::printf("baimo serve: listening on http://%s:%d  (API at /v1: POST /v1/rewards)\n", a.host.c_str(), port);
  std::fflush(stdout);
  serve_until_signal(server, signals, {});
}

void run_serve(const ServeArgs& a) {
  // Block the shutdown signals in every thread (threads inherit the mask); one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  apply_threads(a.threads);  // OpenBLAS's count is global; the scheduler thread sets its OpenMP one
  if (open_model(a.model).is_dir() && load_model_dir_config(a.model).is_reward_model())
    return run_reward_serve(a, signals);
  InferenceModel im = load_inference_model(a.model, a.dtype, a.chat_template, a.lora);
  const ModelConfig& cfg = im.config();
  const ChatTemplateKind kind = im.chat_template;
  const int64_t ctx = serve_ctx(a, cfg);
  const std::string name = a.model_name.empty() ? serve::default_model_id(a.model) : a.model_name;

  SchedulerOptions so;
  so.n_slots = a.parallel;
  so.ctx = ctx;
  so.max_queue = a.max_queue;
  so.threads = a.threads;
  a.draft.check();
  so.draft_ngram = a.draft.ngram.value_or(0);  // the scheduler checks it
  if (!a.draft.model.empty()) so.draft_model = a.draft.load_model(im, a.model);
  so.draft_k = a.draft.draft_k();
  so.adaptive_k = !a.draft.fixed_k;
  BatchScheduler scheduler(im.weights, im.tokenizer, so);
  serve::ModelContext mc{im.tokenizer.get(), kind, name, ctx, cfg.vocab_size, im.eos_ids, cfg.architecture(), ""};
  // The model's own Jinja template renders chat prompts unless --chat-template picks a built-in one
  // or the template is baimo's own (the built-in renderer writes the same text).
  const std::string& own = im.weights->chat_template;
  if (a.chat_template.empty() && !own.empty() && !is_builtin_chat_template(own)) mc.jinja_template = own;
  serve::ApiServer server(scheduler, mc, serve_options(a));
  int port = server.bind();
  const std::string template_desc = mc.jinja_template.empty() ? chat_template_name(kind)
                                                              : fmt::format("the model's own (Jinja; {} markers)", chat_template_name(kind));
  std::printf("baimo serve: model %s (%s, %.1fM parameters), chat template %s, %d slots x %lld context, queue %d\n",
              name.c_str(), cfg.architecture().c_str(), cfg.parameter_count() / 1e6, template_desc.c_str(), a.parallel,
              static_cast<long long>(ctx), a.max_queue);
  std::printf("baimo serve: listening on http://%s:%d  (web chat at /, API at /v1)\n", a.host.c_str(), port);
  std::fflush(stdout);
  serve_until_signal(server, signals, [&] { scheduler.stop(); });
}

BAIMO_COMMAND(70, [](CLI::App& root) {
  auto a = std::make_shared<ServeArgs>();
  auto* sub = root.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching and a web chat page");
  sub->add_option("--model", a->model, "Model directory (Hugging Face layout) or .gguf file")->required();
  sub->add_option("--host", a->host, "Address to bind (127.0.0.1: this machine only)")->capture_default_str();
  sub->add_option("--port", a->port, "TCP port (0: any free port, printed)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub->add_option("--parallel", a->parallel, "Sequences decoded together (slots)")->capture_default_str()->check(CLI::Range(1, 256));
  sub->add_option("--ctx", a->ctx, "Context positions of every slot (default: the model's maximum)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  sub->add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' on /v1/* and /metrics");
  sub->add_option("--max-queue", a->max_queue, "Requests that may wait for a slot; more get 429")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  sub->add_option("--model-name", a->model_name, "Model id in the API (default: the model's directory name; a run's final/ -> the run's name)");
  sub->add_option("--chat-template", a->chat_template, "chatml | llama3 | plain (default: from the model)");
  sub->add_option("--dtype", a->dtype, "Convert a model directory's weights at load: f32 | f16 | bf16 | q8_0 | q4_0");
  sub->add_option("--lora", a->lora, "PEFT LoRA adapter directory applied to the weights at load");
  a->draft.add_to(sub);
  sub->add_option("--max-body", a->max_body, "Largest request body in bytes (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  sub->add_option("--max-client-connections", a->max_client_connections,
                  "Connections one client address may hold open; more get 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));  // HTTP threads are at least this + 64
  sub->add_option("--header-timeout", a->header_timeout, "Seconds a request's line and headers may take to arrive (else 408)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  sub->add_option("--body-timeout", a->body_timeout, "Seconds a request's body may take to arrive after its headers (else 408)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  sub->add_flag("--reuse-port", a->reuse_port, "Set SO_REUSEPORT: several servers share the port (default: in use = error)");
  add_threads_flag(sub, a->threads);
  sub->callback([a] { run_serve(*a); });
});

}  // namespace
}  // namespace baimo::cli
