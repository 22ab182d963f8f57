#include "baimo/train/lm_trainer.h"

namespace baimo::train {

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
      trainer_(std::make_unique<Trainer>(*objective_, static_cast<const TrainerOptions&>(opts))) {}

}  // namespace baimo::train
