#include "baimo/train/objectives/distill.h"

#include "baimo/autograd/tape.h"
#include "baimo/infer/live_weights.h"
#include "baimo/train/mfu.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo::train {

using json = nlohmann::json;

ag::Divergence parse_divergence(const std::string& name, const std::string& where) {
  if (name == "forward_kl") return ag::Divergence::ForwardKl;
  if (name == "reverse_kl") return ag::Divergence::ReverseKl;
  if (name == "jsd") return ag::Divergence::Jsd;
  fail("{}: loss \"{}\": expected forward_kl, reverse_kl or jsd", where, name);
}

const char* divergence_name(ag::Divergence d) {
  switch (d) {
    case ag::Divergence::ForwardKl: return "forward_kl";
    case ag::Divergence::ReverseKl: return "reverse_kl";
    case ag::Divergence::Jsd: return "jsd";
  }
  return "?";
}

WeightMatrix teacher_head(const Transformer& teacher) {
  const ModelConfig& c = teacher.config();
  if (c.is_reward_model()) fail("the teacher is a reward model (no language-model head)");
  const ParamRole want = c.tie_word_embeddings ? ParamRole::Embed : ParamRole::LmHead;
  for (const auto& f : teacher.frozen_params())
    if (f.spec.role == want) return f.w;
  const ag::Var& w = teacher.param(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  return WeightMatrix{DType::F32, w.value().data<float>(), w.size(0), w.size(1)};
}

namespace {

// The student's head: its f32 lm_head, or the tied embedding.
const ag::Var& student_head(const Transformer& s) {
  if (!s.frozen_params().empty()) fail("distillation trains a full (f32) student; a frozen / LoRA student is not supported");
  return s.param(s.config().tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
}

json distill_json(const DistillOptions& d) {
  json j = {{"loss", divergence_name(d.loss.divergence)},
            {"temperature", d.loss.temperature},
            {"beta", d.loss.beta},
            {"ce_weight", d.loss.ce_weight},
            {"teacher", d.teacher}};
  if (d.on_policy > 0)
    j["on_policy"] = {{"share", d.on_policy},
                      {"temperature", d.rollout.temperature},
                      {"max_new_tokens", d.rollout.max_new_tokens}};
  return j;
}

// The prompts of a batch's conversations: each segment's tokens up to and including the position
// whose target is its first answer token (segments without an answer token are left out).
std::vector<std::vector<int32_t>> conversation_prompts(const SftBatch& b) {
  std::vector<std::vector<int32_t>> prompts;
  for (size_t r = 0; r < b.rows; ++r) {
    const size_t base = r * b.seq;
    for (size_t start = 0; start < b.seq;) {
      size_t end = start + 1;
      while (end < b.seq && b.segments[base + end] == b.segments[base + start]) ++end;
      for (size_t t = start; t < end; ++t)
        if (b.targets[base + t] != kIgnoreTarget) {
          prompts.emplace_back(b.ids.begin() + static_cast<std::ptrdiff_t>(base + start),
                               b.ids.begin() + static_cast<std::ptrdiff_t>(base + t + 1));
          break;
        }
      start = end;
    }
  }
  return prompts;
}

void check_pair(const Transformer& student, const Transformer& teacher) {
  if (student.config().vocab_size != teacher.config().vocab_size)
    fail("the teacher's vocabulary ({} tokens) differs from the student's ({}): they must share a tokenizer",
         teacher.config().vocab_size, student.config().vocab_size);
  student_head(student);
  teacher_head(teacher);
}

double teacher_flops(const Transformer& teacher, int64_t seq) {
  return train_flops_per_token(teacher.config(), seq) / 3.0;  // a forward only
}

}  // namespace

MicroLoss distill_batch_loss(const Transformer& student, const Transformer& teacher, const Tensor& ids,
                             const Tensor& targets, const Tensor* positions, const Tensor* segments,
                             const DistillOptions& opts) {
  Tensor th;
  {
    ag::NoGradGuard no_grad;
    th = teacher.hidden(ids, positions, segments).value();
  }
  const ag::Var h = student.hidden(ids, positions, segments);
  ag::DistillLossStats st;
  ag::Var loss = ag::distill_head_loss(h, student_head(student), th, teacher_head(teacher), targets, -100, opts.loss, &st);
  return {loss, {{"distill", st.divergence}, {"ce", st.cross_entropy}}};
}

SftDistillObjective::SftDistillObjective(Transformer& student, const Transformer& teacher,
                                         std::span<const SftExample> train, std::span<const SftExample> held_out,
                                         SftObjectiveOptions opts, DistillOptions distill)
    : SftObjective(student, nullptr, train, held_out, opts),
      teacher_(teacher),
      distill_(std::move(distill)),
      seq_(static_cast<int64_t>(opts.packing.seq)) {
  check_pair(student, teacher);
}

MicroLoss SftDistillObjective::batch_loss(const SftBatch& b) {
  const Shape shape{static_cast<int64_t>(b.rows), static_cast<int64_t>(b.seq)};
  Tensor ids = Tensor::from_ids(shape, b.ids), targets = Tensor::from_ids(shape, b.targets);
  Tensor positions = Tensor::from_ids(shape, b.positions), segments = Tensor::from_ids(shape, b.segments);
  MicroLoss out = distill_batch_loss(model(), teacher_, ids, targets, &positions, &segments, distill_);
  if (distill_.on_policy > 0) out.metrics.emplace_back("on_policy", b.sampled ? 1.0f : 0.0f);
  return out;
}

void SftDistillObjective::redraw(SftBatch& batch, uint64_t first_row) {
  const SftObjectiveOptions& o = options();
  // The choice is the micro-batch's (every rank makes the same); the samples' seed is this rank's rows'.
  const uint64_t rank_rows = static_cast<uint64_t>(o.batch / o.world);
  const uint64_t micro_row = first_row - static_cast<uint64_t>(o.rank) * rank_rows;
  const uint64_t h = splitmix64(o.seed ^ splitmix64(micro_row ^ 0x6f6e706f6cULL));
  if (distill_.on_policy <= 0 || static_cast<double>(h >> 11) * 0x1.0p-53 >= distill_.on_policy) return;
  std::vector<std::vector<int32_t>> prompts = conversation_prompts(batch);
  if (prompts.empty()) return;
  RolloutOptions ro = distill_.rollout;
  ro.seed = splitmix64(h ^ first_row);
  ro.ctx = seq_;
  ro.slots = static_cast<int>(std::min<size_t>(prompts.size(), 16));
  auto weights = std::make_shared<const ModelWeights>(live_weights(model()));
  const std::vector<std::vector<RolloutSample>> samples = generate_rollouts(weights, distill_.tokenizer, prompts, ro);
  std::vector<SftExample> examples;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const std::vector<int32_t>& answer = samples[p].at(0).tokens;
    const size_t room = static_cast<size_t>(seq_) - prompts[p].size();
    SftExample e{prompts[p], std::vector<uint8_t>(prompts[p].size(), 0), p};
    e.ids.insert(e.ids.end(), answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(std::min(room, answer.size())));
    e.mask.resize(e.ids.size(), 1);
    if (e.ids.size() > prompts[p].size()) examples.push_back(std::move(e));
  }
  if (examples.empty()) return;
  PackedPlan plan(examples, o.packing, ro.seed, 0);
  plan.fill(0, plan.rows(), batch);
  batch.sampled = true;
}

json SftDistillObjective::trajectory() const {
  json t = SftObjective::trajectory();
  t["distill"] = distill_json(distill_);
  return t;
}

double SftDistillObjective::flops_per_token() const {
  return SftObjective::flops_per_token() + teacher_flops(teacher_, seq_);
}

LmDistillObjective::LmDistillObjective(Transformer& student, const Transformer& teacher, const TokenDataset& train,
                                       const TokenDataset* val, LmObjectiveOptions opts, DistillOptions distill)
    : LmObjective(student, train, val, opts), teacher_(teacher), distill_(std::move(distill)), seq_(opts.seq) {
  check_pair(student, teacher);
}

MicroLoss LmDistillObjective::batch_loss(const Tensor& ids, const Tensor& targets) {
  return distill_batch_loss(model(), teacher_, ids, targets, nullptr, nullptr, distill_);
}

json LmDistillObjective::trajectory() const {
  json t = LmObjective::trajectory();
  t["distill"] = distill_json(distill_);
  return t;
}

double LmDistillObjective::flops_per_token() const {
  return LmObjective::flops_per_token() + teacher_flops(teacher_, seq_);
}

}  // namespace baimo::train
