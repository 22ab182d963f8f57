#include "baimo/util/hash.h"
#include "baimo/train/objectives/sft.h"

#include <algorithm>
#include <filesystem>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/mfu.h"
#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {

// Appends rows [0, src.rows) of src to dst (same seq).
void append_rows(const SftBatch& src, SftBatch& dst) {
  auto cat = [](const std::vector<int32_t>& a, std::vector<int32_t>& b) { b.insert(b.end(), a.begin(), a.end()); };
  cat(src.ids, dst.ids);
  cat(src.targets, dst.targets);
  cat(src.positions, dst.positions);
  cat(src.segments, dst.segments);
  dst.examples.insert(dst.examples.end(), src.examples.begin(), src.examples.end());
  dst.rows += src.rows;
  dst.target_count += src.target_count;
}

}  // namespace

ag::Var sft_batch_loss(const Transformer& model, const SftBatch& b) {
  const Shape shape{static_cast<int64_t>(b.rows), static_cast<int64_t>(b.seq)};
  Tensor ids = Tensor::from_ids(shape, b.ids), targets = Tensor::from_ids(shape, b.targets);
  Tensor positions = Tensor::from_ids(shape, b.positions), segments = Tensor::from_ids(shape, b.segments);
  return model.loss(ids, targets, &positions, &segments, kIgnoreTarget);
}

SftObjective::SftObjective(Transformer& model, LoraAdapter* adapter, std::span<const SftExample> train,
                           std::span<const SftExample> held_out, SftObjectiveOptions opts)
    : model_(model), adapter_(adapter), train_(train), held_out_(held_out), opts_(std::move(opts)) {
  const auto& o = opts_;
  if (o.batch < 1 || o.grad_accum < 1) fail("batch and grad_accum must be positive (got {}, {})", o.batch, o.grad_accum);
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.batch % o.world != 0) fail("batch {} must be a multiple of the number of ranks {}", o.batch, o.world);
  if (static_cast<int64_t>(o.packing.seq) > model.config().max_position_embeddings)
    fail("max_len {} exceeds the model's max_position_embeddings {}", o.packing.seq,
         model.config().max_position_embeddings);
  if (train_.empty()) fail("no training conversations left (all held out, skipped or without an answer)");
  if (adapter_ && model_.lora() != adapter_) fail("internal: the LoRA adapter must be attached to the model");
  micro_.resize(static_cast<size_t>(o.grad_accum));
}

const PackedPlan& SftObjective::epoch_plan(uint64_t epoch) const {
  if (!plan_ || plan_epoch_ != epoch) {
    plan_ = std::make_unique<PackedPlan>(train_, opts_.packing, opts_.seed, epoch);
    plan_epoch_ = epoch;
  }
  return *plan_;
}

void SftObjective::fill_stream_rows(uint64_t first, size_t count, SftBatch& batch) const {
  batch = SftBatch{};
  batch.seq = opts_.packing.seq;
  SftBatch part;
  while (count > 0) {
    const uint64_t per_epoch = epoch_plan(0).rows();
    const uint64_t epoch = first / per_epoch, row = first % per_epoch;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(count, per_epoch - row));
    epoch_plan(epoch).fill(static_cast<size_t>(row), take, part);
    append_rows(part, batch);
    first += take;
    count -= take;
  }
}

size_t SftObjective::stream_row_tokens(uint64_t row) const {
  const uint64_t per_epoch = epoch_plan(0).rows();
  const PackedPlan& plan = epoch_plan(row / per_epoch);
  size_t n = 0;
  for (size_t e : plan.row_examples(static_cast<size_t>(row % per_epoch))) n += train_[e].ids.size();
  return n;
}

std::vector<TrainModule> SftObjective::modules() {
  return {finetune_module(model_, adapter_, {opts_.tokenizer_json, opts_.base_model, opts_.weight_decay_all,
                                             opts_.decay_lora})};
}

// THE place where rows are chosen: the global micro-batch is rows [position, position + batch) of the
// stream; this rank takes its share.
int64_t SftObjective::draw(int64_t micro) {
  const int64_t rows = opts_.batch / opts_.world;
  Micro& mb = micro_.at(static_cast<size_t>(micro));
  mb.first_row = position_;
  const uint64_t first = position_ + static_cast<uint64_t>(opts_.rank * rows);
  fill_stream_rows(first, static_cast<size_t>(rows), mb.batch);
  redraw(mb.batch, first);
  position_ += static_cast<uint64_t>(opts_.batch);
  return static_cast<int64_t>(mb.batch.target_count);
}

MicroLoss SftObjective::forward(int64_t micro) {
  const Micro& mb = micro_.at(static_cast<size_t>(micro));
  if (adapter_) model_.set_lora_dropout(splitmix64(opts_.seed ^ splitmix64(mb.first_row)));
  return batch_loss(mb.batch);
}

MicroLoss SftObjective::batch_loss(const SftBatch& batch) { return {sft_batch_loss(model_, batch), {}}; }

std::optional<float> SftObjective::evaluate() {
  if (held_out_.empty()) return std::nullopt;
  PackedPlan plan(held_out_, opts_.packing, opts_.seed ^ 0x5eedULL, 0);
  size_t total_rows = plan.rows();
  if (opts_.eval_rows > 0) total_rows = std::min<size_t>(total_rows, static_cast<size_t>(opts_.eval_rows));
  if (adapter_) model_.set_lora_dropout(std::nullopt);
  ag::NoGradGuard no_grad;
  double loss_sum = 0, count = 0;
  SftBatch batch;
  // Every rank scores every held-out row (batches of `batch` rows), so the value is the token-weighted
  // mean of one process whatever the number of ranks (the Trainer's mean over ranks leaves it as is).
  for (size_t begin = 0; begin < total_rows; begin += static_cast<size_t>(opts_.batch)) {
    const size_t n = std::min(total_rows - begin, static_cast<size_t>(opts_.batch));
    plan.fill(begin, n, batch);
    if (batch.target_count == 0) continue;
    loss_sum += static_cast<double>(sft_batch_loss(model_, batch).item()) * batch.target_count;
    count += batch.target_count;
    ag::reset_step();
  }
  return static_cast<float>(count > 0 ? loss_sum / count : 0.0);
}

json SftObjective::state() const { return {{"row_position", position_}}; }

json SftObjective::restore(const json& s, const std::string& where, bool rollback) {
  if (!s.contains("row_position") || !s["row_position"].is_number_integer() || s["row_position"].get<int64_t>() < 0)
    fail("{}: field \"row_position\" missing or not a non-negative integer", where);
  const uint64_t saved = s["row_position"].get<uint64_t>();
  if (!rollback) {
    position_ = saved;
    return json::object();
  }
  return {{"skipped_rows", json::array({saved, position_})}};
}

json SftObjective::trajectory() const {
  return {{"batch", opts_.batch},
          {"max_len", opts_.packing.seq},
          {"packing", opts_.packing.pack},
          {"seed", opts_.seed},
          {"lora", adapter_ != nullptr},
          {"train_examples", train_.size()}};
}

double SftObjective::tokens_per_micro_batch() const {
  // Real (non-padding) tokens per row on average over an epoch, times the rows of a micro-batch.
  const PackedPlan& plan = epoch_plan(plan_ ? plan_epoch_ : 0);
  return static_cast<double>(plan.tokens()) / std::max<size_t>(1, plan.rows()) * static_cast<double>(opts_.batch);
}

double SftObjective::flops_per_token() const {
  // LoRA skips the base's weight gradients: forward + input gradients, about 2/3 of a full step.
  const double full = train_flops_per_token(model_.config(), static_cast<int64_t>(opts_.packing.seq));
  return adapter_ ? full * 2.0 / 3.0 : full;
}

}  // namespace baimo::train
