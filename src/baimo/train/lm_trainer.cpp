#include "baimo/train/lm_trainer.h"

namespace baimo::train {

TrainerOptions trainer_options(const LmTrainOptions& o) {
  TrainerOptions t;
  t.steps = o.steps;
  t.grad_accum = o.grad_accum;
  t.lr = o.lr;
  t.min_lr = o.min_lr;
  t.warmup = o.warmup;
  t.schedule = o.schedule;
  t.decay_fraction = o.decay_fraction;
  t.weight_decay = o.weight_decay;
  t.clip = o.clip;
  t.beta1 = o.beta1;
  t.beta2 = o.beta2;
  t.eval_interval = o.eval_interval;
  t.checkpoint_interval = o.checkpoint_interval;
  t.keep = o.keep;
  t.time_budget_s = o.time_budget_s;
  t.out_dir = o.out_dir;
  t.spike = o.spike;
  t.max_rollbacks = o.max_rollbacks;
  t.peak_gflops = o.peak_gflops;
  t.rank = o.rank;
  t.world = o.world;
  t.allreduce_mean = o.allreduce_mean;
  t.allreduce_sum = o.allreduce_sum;
  t.run_config = o.run_config;
  return t;
}

LmObjectiveOptions lm_objective_options(const LmTrainOptions& o) {
  LmObjectiveOptions l;
  l.batch = o.batch;
  l.seq = o.seq;
  l.grad_accum = o.grad_accum;
  l.eval_batches = o.eval_batches;
  l.seed = o.seed;
  l.tokenizer_json = o.tokenizer_json;
  l.poison_begin = o.poison_begin;
  l.poison_end = o.poison_end;
  l.poison_scale = o.poison_scale;
  l.rank = o.rank;
  l.world = o.world;
  return l;
}

LmTrainer::LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val,
                     const LmTrainOptions& opts)
    : objective_(std::make_unique<LmObjective>(model, train, val, lm_objective_options(opts))),
      trainer_(std::make_unique<Trainer>(*objective_, trainer_options(opts))) {}

}  // namespace baimo::train
