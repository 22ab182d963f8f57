#include "baimo/train/objectives/distill.h"

#include "baimo/autograd/tape.h"
#include "baimo/autograd/topk_distill_loss.h"
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
  if (d.cache) j["teacher_top_k"] = d.cache->top_k();
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

double teacher_flops(const Transformer* teacher, int64_t seq) {
  if (!teacher) return 0;                                     // a cache: no teacher forward
  return train_flops_per_token(teacher->config(), seq) / 3.0;  // a forward only
}

// The cache's records of a batch's counted positions, in row order: ids (count, k), logprobs (count, k),
// rest (count).
void gather_cached(const SftBatch& b, const TeacherCache& cache, std::vector<int32_t>& ids, std::vector<float>& lps,
                   std::vector<float>& rest) {
  const int64_t k = cache.top_k();
  const std::vector<uint64_t>& off = cache.meta().offsets;
  ids.clear();
  lps.clear();
  rest.clear();
  if (b.examples.size() != b.rows) fail("teacher cache {}: the batch does not say which examples its rows hold", cache.path());
  for (size_t r = 0; r < b.rows; ++r) {
    int32_t seg = -1;
    uint64_t rec = 0, end = 0;
    size_t e = 0;
    auto close = [&] {
      if (seg >= 0 && rec != end)
        fail("teacher cache {}: training example {} has {} target positions in its batch, the cache {}", cache.path(), e,
             rec - off[e], end - off[e]);
    };
    for (size_t t = 0; t < b.seq; ++t) {
      const size_t c = r * b.seq + t;
      if (b.targets[c] == kIgnoreTarget) continue;
      if (b.segments[c] != seg) {
        close();
        seg = b.segments[c];
        if (seg < 0 || static_cast<size_t>(seg) >= b.examples[r].size())
          fail("teacher cache {}: a target in row {} lies outside the row's examples", cache.path(), r);
        e = b.examples[r][static_cast<size_t>(seg)];
        if (e + 1 >= off.size()) fail("teacher cache {}: example {} is not in the cache ({} examples)", cache.path(), e, off.size() - 1);
        rec = off[e];
        end = off[e + 1];
      }
      if (rec >= end)
        fail("teacher cache {}: training example {} has more target positions in its batch than the cache's {}",
             cache.path(), e, end - off[e]);
      ids.insert(ids.end(), cache.ids(rec), cache.ids(rec) + k);
      lps.insert(lps.end(), cache.logprobs(rec), cache.logprobs(rec) + k);
      rest.push_back(cache.rest(rec));
      ++rec;
    }
    close();
  }
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

MicroLoss cached_distill_batch_loss(const Transformer& student, const SftBatch& b, const TeacherCache& cache,
                                    const DistillOptions& opts) {
  std::vector<int32_t> top_ids;
  std::vector<float> top_lps, rest;
  gather_cached(b, cache, top_ids, top_lps, rest);
  const int64_t count = static_cast<int64_t>(top_ids.size()) / cache.top_k();
  const Shape shape{static_cast<int64_t>(b.rows), static_cast<int64_t>(b.seq)};
  Tensor ids = Tensor::from_ids(shape, b.ids), targets = Tensor::from_ids(shape, b.targets);
  Tensor positions = Tensor::from_ids(shape, b.positions), segments = Tensor::from_ids(shape, b.segments);
  const ag::Var h = student.hidden(ids, &positions, &segments);
  ag::DistillLossStats st;
  ag::Var loss = ag::topk_distill_head_loss(h, student_head(student), Tensor::from_ids({count, cache.top_k()}, top_ids),
                                            Tensor::from_data({count, cache.top_k()}, top_lps),
                                            Tensor::from_data({count}, rest), targets, kIgnoreTarget, opts.loss, &st);
  return {loss, {{"distill", st.divergence}, {"ce", st.cross_entropy}}};
}

SftDistillObjective::SftDistillObjective(Transformer& student, const Transformer& teacher,
                                         std::span<const SftExample> train, std::span<const SftExample> held_out,
                                         SftObjectiveOptions opts, DistillOptions distill)
    : SftObjective(student, nullptr, train, held_out, opts),
      teacher_(&teacher),
      distill_(std::move(distill)),
      seq_(static_cast<int64_t>(opts.packing.seq)) {
  if (distill_.cache) fail("internal: a distillation objective has both a teacher and a teacher cache");
  check_pair(student, teacher);
}

SftDistillObjective::SftDistillObjective(Transformer& student, std::span<const SftExample> train,
                                         std::span<const SftExample> held_out, SftObjectiveOptions opts,
                                         DistillOptions distill)
    : SftObjective(student, nullptr, train, held_out, opts),
      teacher_(nullptr),
      distill_(std::move(distill)),
      seq_(static_cast<int64_t>(opts.packing.seq)) {
  const TeacherCache* c = distill_.cache.get();
  if (!c) fail("internal: a distillation objective without a teacher needs a teacher cache");
  if (distill_.on_policy > 0)
    fail("teacher cache {}: on-policy distillation scores the student's own new answers, which no cache holds",
         c->path());
  if (distill_.loss.divergence != ag::Divergence::ForwardKl)
    fail("teacher cache {}: --loss {} needs the teacher's whole distribution; the cache holds its top-{} (forward_kl only)",
         c->path(), divergence_name(distill_.loss.divergence), c->top_k());
  if (c->meta().temperature != distill_.loss.temperature)
    fail("teacher cache {}: built at temperature {}, this run's is {}", c->path(), c->meta().temperature,
         distill_.loss.temperature);
  if (c->meta().vocab_size != student.config().vocab_size)
    fail("teacher cache {}: a vocabulary of {} tokens, the student's has {}", c->path(), c->meta().vocab_size,
         student.config().vocab_size);
  if (c->meta().offsets.size() != train.size() + 1)
    fail("teacher cache {}: {} training examples, the run has {}", c->path(), c->meta().offsets.size() - 1, train.size());
  student_head(student);
}

MicroLoss SftDistillObjective::batch_loss(const SftBatch& b) {
  if (distill_.cache) return cached_distill_batch_loss(model(), b, *distill_.cache, distill_);
  const Shape shape{static_cast<int64_t>(b.rows), static_cast<int64_t>(b.seq)};
  Tensor ids = Tensor::from_ids(shape, b.ids), targets = Tensor::from_ids(shape, b.targets);
  Tensor positions = Tensor::from_ids(shape, b.positions), segments = Tensor::from_ids(shape, b.segments);
  MicroLoss out = distill_batch_loss(model(), *teacher_, ids, targets, &positions, &segments, distill_);
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
  if (distill_.cache)
    fail("teacher cache {}: token shards are drawn as windows starting at any token, so epochs share no window to "
         "cache (use chat data)", distill_.cache->path());
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
  return LmObjective::flops_per_token() + teacher_flops(&teacher_, seq_);
}

}  // namespace baimo::train
