// baimo train-step --model DIR (--batch FILE | --pairs FILE --loss TYPE [--beta B] [--label-smoothing E]
//                  [--simpo-gamma G] [--rpo-alpha A] | --rl FILE [--beta B] [--rl-norm N] [--eps-low E]
//                  [--eps-high E] [--max-completion-length L]) [--steps N] [--lr ..] [--beta1 ..] [--beta2 ..] [--eps ..]
//                  [--weight-decay ..] [--decay-all] [--clip ..] [--dump-dir DIR] [--out DIR]
//                  [--lora-adapter FILE --lora-r R --lora-alpha A [--rslora] [--lora-targets LIST]
//                   [--lora-tokens IDS]]
// Runs N full training steps (forward, cross-entropy, backward, optional global-norm clipping,
// AdamW) of a model directory on one fixed batch and prints each step's loss. The batch is a
// safetensors file with integer tensors input_ids (B, T) and targets (B, T) (-100 = ignored), and
// for packed rows optionally position_ids (B, T) (default 0..T-1) and segment_ids (B, T)
// (non-decreasing document ids per row; default one document per row).
// --dump-dir writes outputs.safetensors (logits (B, T, V) of the first forward, loss (N): every
// step's loss) and grads.safetensors (first step's gradients under HF names); --out saves the
// updated model directory. Used to check baimo against other implementations
// (tests/reference/test_model_vs_torch.py) and to see a model learn a batch.
// --lora-adapter: a safetensors file with an adapter's A and B under PEFT names (model/lora.h) is
// attached to the frozen base; the steps train the adapter only and grads.safetensors holds its
// gradients under those names (tests/reference/test_lora_vs_torch.py). --out is not available then.
// --lora-tokens: the adapter also trains these token rows (PEFT trainable_token_indices, model/lora.h):
// the file holds them as kTokenRowsName (K, hidden), and they get a gradient under that name.
// --pairs: a preference batch instead (train/preference_loss.h): the batch file above (packed rows)
// plus groups (B, T) (integers: 2 * P groups for P pairs, group 2i = the answer tokens of pair i's
// chosen sequence, 2i + 1 of its rejected one, -1 elsewhere) and, for a loss with a reference model,
// ref_logps (2 * P) F32 (the reference sums, in group order). Each step: Transformer::token_logprobs
// -> ag::segment_sum per group -> preference_loss (--loss sigmoid|ipo|hinge|simpo|orpo) -> backward.
// Answer token counts are the group's tokens whose target is not -100. --dump-dir writes
// outputs.safetensors with loss (N), logps (2 * P: the first step's policy sums in group order),
// chosen_rewards and rejected_rewards (P, first step), and grads.safetensors as above
// (tests/reference/test_preference_vs_torch.py).
// --rl: a GRPO batch instead (train/rl_loss.h): the batch file above, one response per row (its
// tokens: those whose target is not -100, the mask), plus advantages (B) F32 and optionally
// old_logps and ref_logps (B, T) F32 (absent: old = the policy's own log-probs; ref needed with
// --beta > 0). Each step: Transformer::token_logprobs (B, T) -> grpo_loss (--beta, --eps-low,
// --eps-high, --rl-norm grpo|dapo|dr_grpo, --max-completion-length) -> backward. --dump-dir writes
// outputs.safetensors with loss (N) and logps (B, T) (the first step's token log-probs) and
// grads.safetensors as above (tests/reference/test_rl_loss_vs_torch.py).
#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "baimo/autograd/tape.h"
#include "baimo/cli/command.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/param_groups.h"
#include "baimo/train/preference_loss.h"
#include "baimo/train/rl_loss.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct TrainStepArgs {
  std::string model, batch, pairs, rl, dump_dir, out;
  std::string rl_norm = "grpo";
  float eps_low = 0.2f, eps_high = 0.2f;
  int64_t max_completion_length = 0;
  std::string loss = "sigmoid";
  float beta = 0.1f, label_smoothing = 0.f, simpo_gamma = 0.5f, rpo_alpha = 0.f;
  int steps = 1;
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f, clip = 0.0f;
  bool decay_all = false;
  std::string lora_adapter, lora_targets = "all", lora_tokens;
  int64_t lora_r = 8;
  float lora_alpha = 16.0f;
  bool rslora = false;
};

struct Batch {
  Tensor ids, targets;            // I32 (B, T)
  Tensor positions, segments;     // I32 (B, T) or undefined (absent from the file)
  const Tensor* positions_or_null() const { return positions.defined() ? &positions : nullptr; }
  const Tensor* segments_or_null() const { return segments.defined() ? &segments : nullptr; }
};

// An optional I32 (B, T) tensor of the batch file, each value checked by ok(value, row, column).
template <class Check>
Tensor read_optional(const SafetensorsFile& f, const std::string& path, const std::string& name,
                     const std::vector<int64_t>& shape, Check ok) {
  const SafetensorInfo* info = f->find(name);
  if (!info) return {};
  if (info->shape != shape) fail("{}: tensor \"{}\" must have the shape of \"input_ids\"", path, name);
  std::vector<int64_t> v = f->read_i64(name);
  std::vector<int32_t> v32(v.size());
  const size_t T = static_cast<size_t>(shape[1]);
  for (size_t i = 0; i < v.size(); ++i) {
    ok(v[i], i / T, i % T);
    v32[i] = static_cast<int32_t>(v[i]);
  }
  return Tensor::from_ids(Shape{shape[0], shape[1]}, v32);
}

// The adapter in a plain safetensors file: every pair of the layout must be there with its shape,
// and nothing else.
LoraAdapter read_adapter(const TrainStepArgs& a, const ModelConfig& cfg) {
  LoraConfig lc;
  lc.r = a.lora_r;
  lc.alpha = a.lora_alpha;
  lc.rslora = a.rslora;
  lc.targets = parse_lora_targets(a.lora_targets);
  if (!a.lora_tokens.empty()) lc.trainable_tokens = parse_token_ids(a.lora_tokens, "--lora-tokens");
  lc.validate("--lora-r / --lora-alpha / --lora-targets");
  LoraAdapter ad = LoraAdapter::zeros(cfg, lc);
  SafetensorsFile f(a.lora_adapter);
  for (auto& p : ad.pairs) {
    f->read_f32_checked(p.spec.a_name, {lc.r, p.spec.in}, {p.a.value().data<float>(), size_t(p.a.numel())});
    f->read_f32_checked(p.spec.b_name, {p.spec.out, lc.r}, {p.b.value().data<float>(), size_t(p.b.numel())});
  }
  if (ad.token_rows.defined())
    f->read_f32_checked(kTokenRowsName, {static_cast<int64_t>(lc.trainable_tokens.size()), cfg.hidden_size},
                        {ad.token_rows.value().data<float>(), size_t(ad.token_rows.numel())});
  if (f->tensors().size() != 2 * ad.pairs.size() + (ad.token_rows.defined() ? 1 : 0)) {
    for (const auto& t : f->tensors())
      if (std::none_of(ad.pairs.begin(), ad.pairs.end(),
                       [&](const LoraAdapter::Pair& p) { return p.spec.a_name == t.name || p.spec.b_name == t.name; }))
        if (!(ad.token_rows.defined() && t.name == kTokenRowsName))
          fail("{}: tensor \"{}\" is not an A or B of the LoRA targets \"{}\"", a.lora_adapter, t.name,
               a.lora_targets);
  }
  return ad;
}

// input_ids, targets and the optional packing tensors from a safetensors batch file, checked
// against the model.
Batch read_batch(const std::string& path, const ModelConfig& cfg) {
  SafetensorsFile f(path);
  const SafetensorInfo& in = f->get("input_ids");
  const SafetensorInfo& tg = f->get("targets");
  if (in.shape.size() != 2 || in.shape[0] < 1 || in.shape[1] < 1)
    fail("{}: tensor \"input_ids\" must be (batch, tokens) with both at least 1", path);
  if (tg.shape != in.shape) fail("{}: tensor \"targets\" must have the shape of \"input_ids\"", path);
  const int64_t max_pos = cfg.max_position_embeddings;
  Batch batch;
  batch.positions = read_optional(f, path, "position_ids", in.shape, [&](int64_t p, size_t b, size_t t) {
    if (p < 0 || p >= max_pos)
      fail("{}: position_ids[{}, {}] = {} is outside [0, max_position_embeddings {})", path, b, t, p, max_pos);
  });
  std::vector<int64_t> prev(static_cast<size_t>(in.shape[0]), INT32_MIN);
  batch.segments = read_optional(f, path, "segment_ids", in.shape, [&](int64_t s, size_t b, size_t t) {
    if (s < INT32_MIN || s > INT32_MAX) fail("{}: segment_ids[{}, {}] = {} does not fit in 32 bits", path, b, t, s);
    if (s < prev[b])
      fail("{}: segment_ids must be non-decreasing along each row, but segment_ids[{}, {}] = {} < {}", path, b, t, s,
           prev[b]);
    prev[b] = s;
  });
  // Packed rows carry their own positions; otherwise positions run 0..T-1 and T is limited.
  if (!batch.positions.defined() && in.shape[1] > max_pos)
    fail("{}: {} tokens per row exceed max_position_embeddings {}", path, in.shape[1], max_pos);
  std::vector<int64_t> ids = f->read_i64("input_ids"), targets = f->read_i64("targets");
  std::vector<int32_t> ids32(ids.size()), targets32(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= cfg.vocab_size)
      fail("{}: input_ids[{}] = {} is outside the vocabulary [0, {})", path, i, ids[i], cfg.vocab_size);
    if (targets[i] != -100 && (targets[i] < 0 || targets[i] >= cfg.vocab_size))
      fail("{}: targets[{}] = {} is neither -100 nor inside the vocabulary [0, {})", path, i, targets[i],
           cfg.vocab_size);
    ids32[i] = static_cast<int32_t>(ids[i]);
    targets32[i] = static_cast<int32_t>(targets[i]);
  }
  Shape s{in.shape[0], in.shape[1]};
  batch.ids = Tensor::from_ids(s, ids32);
  batch.targets = Tensor::from_ids(s, targets32);
  return batch;
}

// A preference batch: the packed rows plus each token's group (see the header comment).
struct Pairs {
  Batch rows;
  Tensor chosen_groups, rejected_groups;  // I32 (B, T): pair i for the chosen / rejected group, else -1
  int64_t n_pairs = 0;
  std::vector<float> chosen_tokens, rejected_tokens, ref_chosen, ref_rejected;  // (P) each
};

Pairs read_pairs(const std::string& path, const ModelConfig& cfg, train::PreferenceLossType type) {
  Pairs p;
  p.rows = read_batch(path, cfg);
  SafetensorsFile f(path);
  const Shape& s = p.rows.ids.shape();
  if (f->get("groups").shape != std::vector<int64_t>{s.d[0], s.d[1]})
    fail("{}: tensor \"groups\" must have the shape of \"input_ids\"", path);
  const std::vector<int64_t> g = f->read_i64("groups");
  int64_t top = -1;
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] < -1 || g[i] > INT32_MAX) fail("{}: groups[{}] = {} is neither -1 nor a group id", path, i, g[i]);
    top = std::max(top, g[i]);
  }
  if (top < 1 || top % 2 == 0)
    fail("{}: groups must number 2 * pairs groups 0 .. 2 * pairs - 1 (chosen, rejected per pair); the largest is {}",
         path, top);
  p.n_pairs = (top + 1) / 2;
  const size_t P = static_cast<size_t>(p.n_pairs);
  std::vector<int32_t> gc(g.size(), -1), gr(g.size(), -1);
  p.chosen_tokens.assign(P, 0.f);
  p.rejected_tokens.assign(P, 0.f);
  const int32_t* tg = p.rows.targets.data<int32_t>();
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] < 0) continue;
    const size_t pair = static_cast<size_t>(g[i] / 2);
    (g[i] % 2 ? gr : gc)[i] = static_cast<int32_t>(pair);
    if (tg[i] != -100) (g[i] % 2 ? p.rejected_tokens : p.chosen_tokens)[pair] += 1.f;
  }
  p.chosen_groups = Tensor::from_ids(s, gc);
  p.rejected_groups = Tensor::from_ids(s, gr);
  if (train::needs_reference(type)) {
    std::vector<float> ref(2 * P);
    if (!f->find("ref_logps"))
      fail("{}: loss {} needs tensor \"ref_logps\" ({}: the reference model's sums per group)", path,
           train::preference_loss_name(type), 2 * P);
    f->read_f32_checked("ref_logps", {static_cast<int64_t>(2 * P)}, ref);
    for (size_t i = 0; i < P; ++i) {
      p.ref_chosen.push_back(ref[2 * i]);
      p.ref_rejected.push_back(ref[2 * i + 1]);
    }
  }
  return p;
}

// A GRPO batch: the rows plus the mask of response tokens and the constants of the loss.
struct RlRows {
  Batch rows;
  std::vector<float> mask, advantages, old_logps, ref_logps;
};

RlRows read_rl(const std::string& path, const ModelConfig& cfg) {
  RlRows r;
  r.rows = read_batch(path, cfg);
  SafetensorsFile f(path);
  const int64_t B = r.rows.ids.shape().d[0], T = r.rows.ids.shape().d[1];
  const int32_t* tg = r.rows.targets.data<int32_t>();
  r.mask.resize(static_cast<size_t>(B * T));
  for (size_t i = 0; i < r.mask.size(); ++i) r.mask[i] = tg[i] != -100 ? 1.f : 0.f;
  r.advantages.resize(static_cast<size_t>(B));
  f->read_f32_checked("advantages", {B}, r.advantages);
  for (auto [name, v] : {std::pair{"old_logps", &r.old_logps}, std::pair{"ref_logps", &r.ref_logps}}) {
    if (!f->find(name)) continue;
    v->resize(static_cast<size_t>(B * T));
    f->read_f32_checked(name, {B, T}, *v);
  }
  return r;
}

std::vector<float> values(const ag::Var& v) {
  const float* x = v.value().data<float>();
  return {x, x + v.numel()};
}

std::vector<int64_t> dims(const Shape& s) { return std::vector<int64_t>(s.d, s.d + s.n); }

void run_train_step(const TrainStepArgs& a) {
  namespace fs = std::filesystem;
  if (a.steps < 1) fail("--steps {}: expected at least 1", a.steps);
  if (a.batch.empty() + a.pairs.empty() + a.rl.empty() != 2) fail("give exactly one of --batch, --pairs and --rl");
  const bool preference = !a.pairs.empty(), rl = !a.rl.empty();
  train::PreferenceLossOptions popts;
  popts.type = train::parse_preference_loss(a.loss);
  popts.beta = a.beta;
  popts.label_smoothing = a.label_smoothing;
  popts.simpo_gamma = a.simpo_gamma;
  popts.rpo_alpha = a.rpo_alpha;
  const bool lora = !a.lora_adapter.empty();
  if (lora && !a.out.empty()) fail("--out saves a full model; it cannot be combined with --lora-adapter");
  Transformer model = Transformer::load(a.model);
  const Pairs pairs = preference ? read_pairs(a.pairs, model.config(), popts.type) : Pairs{};
  const RlRows rl_rows = rl ? read_rl(a.rl, model.config()) : RlRows{};
  train::GrpoOptions gopts;
  gopts.clip = {a.eps_low, a.eps_high, 0.f};
  gopts.beta = a.beta;
  gopts.norm = train::parse_loss_norm(a.rl_norm);
  gopts.scale.max_completion_length = a.max_completion_length;
  const Batch batch = preference ? pairs.rows : rl ? rl_rows.rows : read_batch(a.batch, model.config());
  LoraAdapter adapter;
  std::vector<ag::Var> params;
  std::vector<SafetensorWrite> grad_specs;  // names and shapes of the dumped gradients (data filled later)
  if (lora) {
    adapter = read_adapter(a, model.config());
    model.set_base_trainable(false);
    model.attach_lora(&adapter);
    for (const auto& p : adapter.pairs) {
      params.push_back(p.a);
      grad_specs.push_back({p.spec.a_name, {adapter.config.r, p.spec.in}, {}});
      params.push_back(p.b);
      grad_specs.push_back({p.spec.b_name, {p.spec.out, adapter.config.r}, {}});
    }
    if (adapter.token_rows.defined()) {
      params.push_back(adapter.token_rows);
      grad_specs.push_back({kTokenRowsName, {adapter.token_rows.size(0), adapter.token_rows.size(1)}, {}});
    }
  } else {
    params = model.param_vars();
    for (const auto& p : model.params()) grad_specs.push_back({p.spec.name, p.spec.shape, {}});
  }
  train::AdamW opt(lora ? train::lora_groups(adapter, a.weight_decay > 0) : train::adamw_groups(model, a.decay_all),
                   {a.beta1, a.beta2, a.eps, a.weight_decay});

  std::vector<float> losses, first_logits, first_logps, chosen_rewards, rejected_rewards;
  Shape logits_shape;
  std::vector<std::vector<float>> first_grads;
  for (int step = 0; step < a.steps; ++step) {
    opt.zero_grad();
    // The first step of a dump computes the logits explicitly (they are dumped); every other step goes
    // through the fused head + loss (Transformer::loss), the path training uses.
    const bool dump = step == 0 && !a.dump_dir.empty();
    const bool dump_logits = dump && !preference && !rl;
    ag::Var logits = dump_logits ? model.logits(batch.ids, batch.positions_or_null(), batch.segments_or_null()) : ag::Var();
    ag::Var loss;
    if (preference) {
      // policy sums per group: the chosen and the rejected answers of every pair
      const ag::Var lp = model.token_logprobs(batch.ids, batch.targets, batch.positions_or_null(),
                                              batch.segments_or_null());
      train::PreferenceBatch pb;
      pb.chosen_logps = ag::segment_sum(lp, pairs.chosen_groups, pairs.n_pairs);
      pb.rejected_logps = ag::segment_sum(lp, pairs.rejected_groups, pairs.n_pairs);
      pb.chosen_tokens = pairs.chosen_tokens;
      pb.rejected_tokens = pairs.rejected_tokens;
      pb.ref_chosen = pairs.ref_chosen;
      pb.ref_rejected = pairs.ref_rejected;
      const train::PreferenceLossResult r = train::preference_loss(pb, popts);
      loss = r.loss;
      if (dump) {
        const std::vector<float> c = values(pb.chosen_logps), rj = values(pb.rejected_logps);
        for (size_t i = 0; i < c.size(); ++i) first_logps.insert(first_logps.end(), {c[i], rj[i]});
        chosen_rewards = r.chosen_rewards;
        rejected_rewards = r.rejected_rewards;
      }
    } else if (rl) {
      const ag::Var lp = model.token_logprobs(batch.ids, batch.targets, batch.positions_or_null(),
                                              batch.segments_or_null());
      const Shape& s = batch.ids.shape();
      train::GrpoBatch gb{s.d[0], s.d[1], lp, rl_rows.old_logps, rl_rows.ref_logps, rl_rows.advantages, rl_rows.mask};
      loss = train::grpo_loss(gb, gopts).loss;
      if (dump) first_logps = values(lp);
    } else {
      loss = dump_logits ? ag::cross_entropy(logits, batch.targets)
                         : model.loss(batch.ids, batch.targets, batch.positions_or_null(), batch.segments_or_null());
    }
    ag::backward(loss);
    losses.push_back(loss.item());
    if (dump_logits) {
      const float* lv = logits.value().data<float>();
      first_logits.assign(lv, lv + logits.numel());
      logits_shape = logits.shape();
    }
    if (dump) {
      for (const auto& p : params) {
        Tensor g = p.grad();
        first_grads.emplace_back(g.data<float>(), g.data<float>() + g.numel());
      }
    }
    float norm = a.clip > 0 ? train::clip_grad_norm(params, a.clip) : 0.0f;
    opt.step(a.lr);
    ag::reset_step();
    if (a.clip > 0)
      std::printf("step %d loss %.6f grad_norm %.6f\n", step + 1, losses.back(), norm);
    else
      std::printf("step %d loss %.6f\n", step + 1, losses.back());
  }
  if (!a.dump_dir.empty()) {
    prepare_output_dir(a.dump_dir);
    std::vector<SafetensorWrite> outputs{{"loss", {static_cast<int64_t>(losses.size())}, losses}};
    if (preference) {
      outputs.push_back({"logps", {2 * pairs.n_pairs}, first_logps});
      outputs.push_back({"chosen_rewards", {pairs.n_pairs}, chosen_rewards});
      outputs.push_back({"rejected_rewards", {pairs.n_pairs}, rejected_rewards});
    } else if (rl) {
      outputs.push_back({"logps", dims(batch.ids.shape()), first_logps});
    } else {
      outputs.push_back({"logits", dims(logits_shape), first_logits});
    }
    save_safetensors((fs::path(a.dump_dir) / "outputs.safetensors").string(), outputs);
    std::vector<SafetensorWrite> grads;
    for (size_t i = 0; i < params.size(); ++i)
      grads.push_back({grad_specs[i].name, grad_specs[i].shape, first_grads[i]});
    save_safetensors((fs::path(a.dump_dir) / "grads.safetensors").string(), grads);
  }
  if (!a.out.empty()) {
    ModelDirSave opts;
    opts.tokenizer_json = model_dir_tokenizer(a.model);
    opts.generation_config_json = model_dir_generation_config(a.model);
    model.save(a.out, opts);
  }
}

BAIMO_COMMAND(90, [](CLI::App& root) {
  auto a = std::make_shared<TrainStepArgs>();
  auto* sub = root.add_subcommand("train-step", "Run training steps of a model on one fixed batch; dump logits, "
                                                "gradients and the updated model");
  sub->add_option("--model", a->model, "Model directory")->required();
  sub->add_option("--batch", a->batch, "safetensors file with input_ids (B, T) and targets (B, T), -100 = ignore; optional "
                 "position_ids and segment_ids (B, T) for packed rows");
  sub->add_option("--pairs", a->pairs, "A preference batch instead of --batch: the same tensors plus groups (B, T) "
                  "(2i = chosen answer of pair i, 2i+1 rejected, -1 elsewhere) and ref_logps (2 * pairs) F32 for "
                  "losses with a reference model");
  sub->add_option("--rl", a->rl, "A GRPO batch instead of --batch: the same tensors (one response per row) plus "
                  "advantages (B) F32, optional old_logps and ref_logps (B, T) F32");
  sub->add_option("--rl-norm", a->rl_norm, "GRPO loss normalisation of --rl: grpo, dapo or dr_grpo (default grpo)");
  sub->add_option("--eps-low", a->eps_low, "GRPO lower clip range (default 0.2)");
  sub->add_option("--eps-high", a->eps_high, "GRPO upper clip range (default 0.2)");
  sub->add_option("--max-completion-length", a->max_completion_length, "dr_grpo's constant L");
  sub->add_option("--loss", a->loss, "Preference loss of --pairs: sigmoid, ipo, hinge, simpo or orpo (default sigmoid)");
  sub->add_option("--beta", a->beta, "Preference loss beta; with --rl the weight of the k3 KL (default 0.1)");
  sub->add_option("--label-smoothing", a->label_smoothing, "Label smoothing of the sigmoid / simpo loss (default 0)");
  sub->add_option("--simpo-gamma", a->simpo_gamma, "SimPO target reward margin gamma (default 0.5)");
  sub->add_option("--rpo-alpha", a->rpo_alpha, "RPO: weight of the chosen answers' mean token NLL (default 0)");
  sub->add_option("--steps", a->steps, "Number of steps (default 1)")->check(CLI::PositiveNumber);
  sub->add_option("--lr", a->lr, "Learning rate (default 1e-3)");
  sub->add_option("--beta1", a->beta1, "AdamW beta1 (default 0.9)");
  sub->add_option("--beta2", a->beta2, "AdamW beta2 (default 0.999)");
  sub->add_option("--eps", a->eps, "AdamW epsilon (default 1e-8)");
  sub->add_option("--weight-decay", a->weight_decay, "Decoupled weight decay on weight matrices (default 0)");
  sub->add_flag("--decay-all", a->decay_all, "Apply weight decay to every parameter (norms, biases, embeddings too)");
  sub->add_option("--clip", a->clip, "Clip the global gradient norm to this value (default: no clipping)");
  sub->add_option("--dump-dir", a->dump_dir, "Write outputs.safetensors and grads.safetensors here");
  sub->add_option("--out", a->out, "Save the updated model directory here");
  sub->add_option("--lora-adapter", a->lora_adapter,
                  "safetensors file with LoRA A and B under PEFT names: train this adapter on the frozen model");
  sub->add_option("--lora-r", a->lora_r, "LoRA rank of --lora-adapter (default 8)");
  sub->add_option("--lora-alpha", a->lora_alpha, "LoRA alpha of --lora-adapter (default 16)");
  sub->add_flag("--rslora", a->rslora, "LoRA scaling alpha / sqrt(r) instead of alpha / r");
  sub->add_option("--lora-targets", a->lora_targets, "LoRA target modules: q,k,v,o,gate,up,down or all (default all)");
  sub->add_option("--lora-tokens", a->lora_tokens,
                  "Token ids whose embedding (and tied head) rows the adapter trains too; the file holds them");
  sub->callback([a] { run_train_step(*a); });
});

}  // namespace
}  // namespace baimo::cli
