// baimo debug-train-toy --out DIR [--resume] [--steps N --batch B --grad-accum A --dim D --seed S --lr X
//                       --checkpoint-interval K --step-delay-ms MS]
// Hidden test command: the generic Trainer (train/trainer.h) over the two-module toy objective
// (train/objectives/toy.h), so that tests/e2e can kill it with SIGKILL, resume it, and run it under
// mpirun. Prints "step N loss X" per step (rank 0); writes DIR/metrics.jsonl and DIR/checkpoints/.
// --step-delay-ms sleeps after every step (a test's window to kill it mid-run).
#include <chrono>
#include <cstdio>
#include <thread>

#include "baimo/cli/command.h"
#include "baimo/train/distributed.h"
#include "baimo/train/objectives/toy.h"
#include "baimo/train/trainer.h"

namespace baimo::cli {
namespace {

struct ToyArgs {
  std::string out;
  bool resume = false;
  int64_t steps = 60, batch = 8, grad_accum = 2, dim = 8, checkpoint_interval = 5, step_delay_ms = 0;
  uint64_t seed = 1;
  float lr = 0.05f;
};

void run_toy(const ToyArgs& a) {
  Comm& comm = Comm::world();
  train::ToyObjectiveOptions t;
  t.dim = a.dim;
  t.batch = a.batch;
  t.grad_accum = a.grad_accum;
  t.seed = a.seed;
  t.rank = comm.rank();
  t.world = comm.size();
  train::ToyObjective objective(t);
  train::TrainerOptions o;
  o.steps = a.steps;
  o.grad_accum = a.grad_accum;
  o.lr = a.lr;
  o.min_lr = a.lr / 10;
  o.warmup = std::min<int64_t>(5, a.steps);
  o.schedule = train::Schedule::Wsd;
  o.weight_decay = 0.01f;
  o.eval_interval = 10;
  o.checkpoint_interval = a.checkpoint_interval;
  o.out_dir = a.out;
  o.rank = comm.rank();
  o.world = comm.size();
  if (comm.distributed()) {
    o.allreduce_mean = [&comm](float* p, size_t n) { comm.allreduce_mean(p, n); };
    o.allreduce_sum = [&comm](double* p, size_t n) { comm.allreduce_sum(p, n); };
  }
  train::Trainer trainer(objective, o);
  if (a.resume) {
    if (auto step = trainer.resume(); step && comm.is_root()) std::printf("resumed at step %lld\n", static_cast<long long>(*step));
  }
  trainer.run([&](const train::StepMetrics& m) {
    if (comm.is_root()) {
      std::printf("step %lld loss %.9g\n", static_cast<long long>(m.step), m.loss);
      std::fflush(stdout);
    }
    if (a.step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(a.step_delay_ms));
  });
}

}  // namespace

BAIMO_COMMAND(990, [](CLI::App& root) {
  auto a = std::make_shared<ToyArgs>();
  auto* sub = root.add_subcommand("debug-train-toy", "Test: the Trainer over a two-module toy objective");
  sub->group("");  // hidden from --help
  sub->add_option("--out", a->out, "Run directory")->required();
  sub->add_flag("--resume", a->resume, "Continue from the newest checkpoint");
  sub->add_option("--steps", a->steps, "Steps");
  sub->add_option("--batch", a->batch, "Samples per micro-batch (global)");
  sub->add_option("--grad-accum", a->grad_accum, "Micro-batches per step");
  sub->add_option("--dim", a->dim, "Input size");
  sub->add_option("--seed", a->seed, "Seed of the weights and the data");
  sub->add_option("--lr", a->lr, "Peak learning rate (wsd schedule)");
  sub->add_option("--checkpoint-interval", a->checkpoint_interval, "Steps between checkpoints");
  sub->add_option("--step-delay-ms", a->step_delay_ms, "Sleep after every step");
  sub->callback([a] { run_toy(*a); });
});

}  // namespace baimo::cli
