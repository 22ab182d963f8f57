#include "baimo/train/objectives/lm.h"

#include <algorithm>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/model/lm_loss.h"
#include "baimo/train/mfu.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {
// windows: (B, seq+1) -> ids (B, seq) and targets (B, seq) shifted by one.
void split_windows(const std::vector<int32_t>& windows, int64_t batch, int64_t seq, std::vector<int32_t>& ids,
                   std::vector<int32_t>& targets) {
  ids.resize(batch * seq);
  targets.resize(batch * seq);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      ids[b * seq + t] = windows[b * (seq + 1) + t];
      targets[b * seq + t] = windows[b * (seq + 1) + t + 1];
    }
}
}  // namespace

LmObjective::LmObjective(Transformer& model, const TokenDataset& train, const TokenDataset* val,
                         LmObjectiveOptions opts)
    : model_(model), train_(train), val_(val), opts_(std::move(opts)) {
  const auto& o = opts_;
  if (o.batch < 1 || o.seq < 1 || o.grad_accum < 1)
    fail("batch, seq and grad_accum must be positive (got {}, {}, {})", o.batch, o.seq, o.grad_accum);
  if (o.seq > model.config().max_position_embeddings)
    fail("seq {} exceeds the model's max_position_embeddings {}", o.seq, model.config().max_position_embeddings);
  if (train.vocab_size() > model.config().vocab_size)
    fail("the data's vocabulary ({}) is larger than the model's ({})", train.vocab_size(), model.config().vocab_size);
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.batch % o.world != 0) fail("batch {} must be a multiple of the number of ranks {}", o.batch, o.world);
  sampler_ = std::make_unique<WindowSampler>(train_, o.seq, o.seed);
  micro_.resize(static_cast<size_t>(o.grad_accum));
}

std::vector<TrainModule> LmObjective::modules() {
  TrainModule m;
  ModelDirSave save;
  save.tokenizer_json = opts_.tokenizer_json;
  CheckpointModule c = transformer_module("model", model_, nullptr, save);
  m.name = c.name;
  m.params = std::move(c.params);
  m.groups = adamw_groups(model_);
  m.save_dir = std::move(c.save_dir);
  m.load_dir = std::move(c.load_dir);
  return {m};
}

// THE place where micro-batch windows are chosen. The global micro-batch is windows
// [base, base + batch) of the sampler's stream; this rank takes rows [rank*batch/world, ...).
int64_t LmObjective::draw(int64_t micro) {
  const auto& o = opts_;
  const int64_t rows = o.batch / o.world, row0 = o.rank * rows;
  const uint64_t base = sampler_->position();
  windows_.resize(rows * (o.seq + 1));
  sampler_->set_position(base + row0);
  sampler_->next_batch(rows, windows_);
  sampler_->set_position(base + o.batch);
  Micro& mb = micro_.at(static_cast<size_t>(micro));
  split_windows(windows_, rows, o.seq, mb.ids, mb.targets);
  const bool poisoned = o.poison_end > o.poison_begin && base < o.poison_end && base + o.batch > o.poison_begin;
  mb.scale = poisoned ? o.poison_scale : 1.0f;
  return static_cast<int64_t>(std::count_if(mb.targets.begin(), mb.targets.end(), [](int32_t t) { return t != -100; }));
}

MicroLoss LmObjective::forward(int64_t micro) {
  const Micro& mb = micro_.at(static_cast<size_t>(micro));
  const int64_t rows = opts_.batch / opts_.world;
  Tensor ids = Tensor::from_ids({rows, opts_.seq}, mb.ids), targets = Tensor::from_ids({rows, opts_.seq}, mb.targets);
  MicroLoss out = batch_loss(ids, targets);
  if (mb.scale != 1.0f) out.loss = ag::scale(out.loss, mb.scale);  // test hook only
  return out;
}

MicroLoss LmObjective::batch_loss(const Tensor& ids, const Tensor& targets) { return {lm_loss(model_, ids, targets), {}}; }

std::optional<float> LmObjective::evaluate() {
  const TokenDataset& data = val_ ? *val_ : train_;
  const int64_t seq = std::min<int64_t>(opts_.seq, static_cast<int64_t>(data.size()) - 1);
  WindowSampler sampler(data, seq, opts_.seed ^ 0x5eedULL);  // same windows at every evaluation
  // Data parallel: this rank's rows of every eval batch (the Trainer takes the mean over ranks).
  const int64_t rows = opts_.batch / opts_.world, row0 = opts_.rank * rows;
  std::vector<int32_t> windows(rows * (seq + 1)), ids, targets;
  ag::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < opts_.eval_batches; ++i) {
    sampler.set_position(static_cast<uint64_t>(i * opts_.batch + row0));
    sampler.next_batch(rows, windows);
    split_windows(windows, rows, seq, ids, targets);
    Tensor ids_t = Tensor::from_ids({rows, seq}, ids), tg_t = Tensor::from_ids({rows, seq}, targets);
    total += lm_loss(model_, ids_t, tg_t).item();
    ag::reset_step();
  }
  return static_cast<float>(total / std::max<int64_t>(1, opts_.eval_batches));
}

json LmObjective::state() const {
  return {{"sampler_seed", opts_.seed}, {"sampler_position", sampler_->position()}};
}

json LmObjective::restore(const json& s, const std::string& where, bool rollback) {
  if (!s.contains("sampler_position") || !s["sampler_position"].is_number_integer() ||
      s["sampler_position"].get<int64_t>() < 0)
    fail("{}: field \"sampler_position\" missing or not a non-negative integer", where);
  const uint64_t saved = s["sampler_position"].get<uint64_t>();
  if (!rollback) {
    sampler_->set_position(saved);
    return json::object();
  }
  return {{"skipped_windows", json::array({saved, sampler_->position()})}};
}

json LmObjective::trajectory() const {
  return {{"batch", opts_.batch}, {"seq", opts_.seq}, {"seed", opts_.seed}};
}

double LmObjective::tokens_per_micro_batch() const { return static_cast<double>(opts_.batch * opts_.seq); }

double LmObjective::flops_per_token() const { return train_flops_per_token(model_.config(), opts_.seq); }

}  // namespace baimo::train
