// baimo debug-distill-loss --in FILE --out FILE [--loss forward_kl|reverse_kl|jsd --temperature T --beta B
//                          --ce-weight W --chunk-rows R --top-k K]
// Hidden test command: ag::distill_head_loss (autograd/distill_loss.h) on given logits, for
// tests/reference/test_distill_vs_torch.py. Input tensors (F32): student_logits, teacher_logits
// (N, V), targets (N) (ids as floats, -100 = not counted). The logits go through the fused op as
// hidden states against identity heads (V, V), so the op's products return them unchanged and its
// gradient w.r.t. h is the gradient w.r.t. the student's logits. Writes loss (1), divergence (1),
// cross_entropy (1), grad (N, V).
// --top-k K: ag::topk_distill_head_loss (autograd/topk_distill_loss.h) instead, its teacher read from
// teacher_topk_ids (N, K) (ids as floats), teacher_topk_logprobs (N, K) (their log-probs at the temperature)
// and teacher_topk_tail (N) (the other tokens' probability); the rows of the counted targets are passed to
// the op, teacher_logits is not read.
#include <cmath>
#include <string>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/topk_distill_loss.h"
#include "baimo/cli/command.h"
#include "baimo/io/safetensors.h"
#include "baimo/train/objectives/distill.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

struct DistillArgs {
  std::string in, out, loss = "forward_kl";
  float temperature = 1.f, beta = 0.5f, ce_weight = 0.f;
  int64_t chunk_rows = 0, top_k = 0;
};

// The top-k rows of the counted targets: ids (count, k), logprobs (count, k), tail (count).
struct CountedTopK {
  Tensor ids, logprobs, tail;
};
CountedTopK counted_topk(const SafetensorsFile& f, const std::string& in, const std::vector<int32_t>& targets,
                         int64_t k) {
  const int64_t n = static_cast<int64_t>(targets.size());
  std::vector<float> ids(static_cast<size_t>(n * k)), lps(ids.size()), tail(static_cast<size_t>(n));
  f->read_f32_checked("teacher_topk_ids", {n, k}, ids);
  f->read_f32_checked("teacher_topk_logprobs", {n, k}, lps);
  f->read_f32_checked("teacher_topk_tail", {n}, tail);
  std::vector<int32_t> ci;
  std::vector<float> cl, ct;
  for (int64_t r = 0; r < n; ++r) {
    if (targets[static_cast<size_t>(r)] == -100) continue;
    ct.push_back(tail[static_cast<size_t>(r)]);
    for (int64_t i = 0; i < k; ++i) {
      ci.push_back(static_cast<int32_t>(std::lround(ids[static_cast<size_t>(r * k + i)])));
      cl.push_back(lps[static_cast<size_t>(r * k + i)]);
    }
  }
  const int64_t count = static_cast<int64_t>(ci.size()) / k;
  if (count == 0) fail("{}: no counted targets", in);
  return {Tensor::from_ids({count, k}, ci), Tensor::from_data({count, k}, cl), Tensor::from_data({count}, ct)};
}

void run_distill_loss(const DistillArgs& a) {
  SafetensorsFile f(a.in);
  const SafetensorInfo& si = f->get("student_logits");
  if (si.shape.size() != 2) fail("{}: tensor \"student_logits\" must be (rows, vocab)", a.in);
  const int64_t n = si.shape[0], v = si.shape[1];
  std::vector<float> zs(static_cast<size_t>(n * v)), zt(zs.size()), tg(static_cast<size_t>(n));
  f->read_f32_checked("student_logits", {n, v}, zs);
  if (a.top_k == 0) f->read_f32_checked("teacher_logits", {n, v}, zt);
  f->read_f32_checked("targets", {n}, tg);
  std::vector<int32_t> targets(tg.size());
  for (size_t i = 0; i < tg.size(); ++i) targets[i] = static_cast<int32_t>(std::lround(tg[i]));
  std::vector<float> eye(static_cast<size_t>(v * v), 0.f);
  for (int64_t i = 0; i < v; ++i) eye[static_cast<size_t>(i * v + i)] = 1.f;
  ag::Var h = ag::Var::leaf(Tensor::from_data({n, v}, zs), true);
  ag::Var w = ag::Var::leaf(Tensor::from_data({v, v}, eye), false);
  Tensor th = Tensor::from_data({n, v}, zt);
  ag::DistillLossOptions o;
  o.divergence = train::parse_divergence(a.loss, "--loss");
  o.temperature = a.temperature;
  o.beta = a.beta;
  o.ce_weight = a.ce_weight;
  o.chunk_rows = a.chunk_rows;
  ag::DistillLossStats st;
  ag::Var loss;
  if (a.top_k > 0) {
    const CountedTopK t = counted_topk(f, a.in, targets, a.top_k);
    loss = ag::topk_distill_head_loss(h, w, t.ids, t.logprobs, t.tail, Tensor::from_ids({n}, targets), -100, o, &st);
  } else {
    loss = ag::distill_head_loss(h, w, th, WeightMatrix{DType::F32, eye.data(), v, v}, Tensor::from_ids({n}, targets),
                                 -100, o, &st);
  }
  ag::backward(loss);
  const Tensor g = h.grad();
  std::vector<float> l{loss.item()}, d{st.divergence}, ce{st.cross_entropy}, grad(g.data<float>(), g.data<float>() + g.numel());
  save_safetensors(a.out, {{"loss", {1}, l}, {"divergence", {1}, d}, {"cross_entropy", {1}, ce}, {"grad", {n, v}, grad}});
  ag::reset_step();
}

}  // namespace

BAIMO_COMMAND(993, [](CLI::App& root) {
  auto a = std::make_shared<DistillArgs>();
  auto* sub = root.add_subcommand("debug-distill-loss", "Test: distillation losses and gradients on given logits");
  sub->group("");  // hidden from --help
  sub->add_option("--in", a->in, "safetensors file: student_logits, teacher_logits (N, V), targets (N)")->required();
  sub->add_option("--out", a->out, "safetensors file: loss, divergence, cross_entropy, grad (N, V)")->required();
  sub->add_option("--loss", a->loss, "forward_kl | reverse_kl | jsd");
  sub->add_option("--temperature", a->temperature, "Temperature");
  sub->add_option("--beta", a->beta, "JSD beta");
  sub->add_option("--ce-weight", a->ce_weight, "Weight of the cross-entropy term");
  sub->add_option("--chunk-rows", a->chunk_rows, "Rows per chunk (0 = automatic)");
  sub->add_option("--top-k", a->top_k, "The top-k loss from teacher_topk_ids / _logprobs (N, K), teacher_topk_tail (N)");
  sub->callback([a] { run_distill_loss(*a); });
});

}  // namespace baimo::cli
