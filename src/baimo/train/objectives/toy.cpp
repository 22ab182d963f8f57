#include "baimo/train/objectives/toy.h"

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {
uint64_t splitmix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
float uniform(uint64_t key) { return static_cast<float>(splitmix(key) >> 40) / static_cast<float>(1 << 23) - 1.0f; }

std::vector<float> init_values(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * uniform(seed * 1000003ULL + i);
  return v;
}
ag::Var weight(int64_t dim, uint64_t seed) { return ag::Var::leaf(Tensor::from_data({1, dim}, init_values(dim, seed))); }
ag::Var bias(uint64_t seed) { return ag::Var::leaf(Tensor::from_data({1}, init_values(1, seed))); }
}  // namespace

ToyObjective::ToyObjective(ToyObjectiveOptions o) : o_(o) {
  if (o_.dim < 1 || o_.batch < 1 || o_.grad_accum < 1) fail("toy objective: dim, batch and grad_accum must be positive");
  if (o_.world < 1 || o_.rank < 0 || o_.rank >= o_.world) fail("bad data-parallel rank {} of {}", o_.rank, o_.world);
  if (o_.batch % o_.world != 0) fail("batch {} must be a multiple of the number of ranks {}", o_.batch, o_.world);
  params_ = {weight(o_.dim, o_.seed * 4 + 1), bias(o_.seed * 4 + 2), weight(o_.dim, o_.seed * 4 + 3),
             bias(o_.seed * 4 + 4)};
  micro_.resize(static_cast<size_t>(o_.grad_accum));
}

std::vector<TrainModule> ToyObjective::modules() {
  TrainModule policy, value;
  policy.name = "policy";
  policy.params = {{"weight", params_[0]}, {"bias", params_[1]}};
  policy.groups = {{{params_[0]}, true}, {{params_[1]}, false}};
  value.name = "value";
  value.params = {{"weight", params_[2]}, {"bias", params_[3]}};
  value.groups = {{{params_[2], params_[3]}, false}};
  return {policy, value};
}

void ToyObjective::samples(uint64_t stream, uint64_t first, int64_t n, std::vector<float>& x, std::vector<float>& y,
                           std::vector<float>& y2) const {
  x.resize(static_cast<size_t>(n * o_.dim));
  y.resize(static_cast<size_t>(n));
  y2.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float t = 0, u = 0;
    for (int64_t k = 0; k < o_.dim; ++k) {
      const uint64_t key = splitmix(stream ^ splitmix(first + static_cast<uint64_t>(i))) + static_cast<uint64_t>(k);
      float v = uniform(key);
      x[i * o_.dim + k] = v;
      t += static_cast<float>(k + 1) / static_cast<float>(o_.dim) * v;
      u += (k % 2 ? -0.5f : 0.5f) * v;
    }
    y[i] = t;
    y2[i] = u;
  }
}

int64_t ToyObjective::draw(int64_t micro) {
  const int64_t rows = o_.batch / o_.world;
  Micro& mb = micro_.at(static_cast<size_t>(micro));
  samples(o_.seed, position_ + static_cast<uint64_t>(o_.rank * rows), rows, mb.x, mb.y, mb.y2);
  position_ += static_cast<uint64_t>(o_.batch);
  return rows;
}

MicroLoss ToyObjective::loss_of(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& y2,
                                int64_t n) const {
  ag::Var xs = ag::Var::constant(Tensor::from_data({n, o_.dim}, x));
  ag::Var ys = ag::Var::constant(Tensor::from_data({n, 1}, y));
  ag::Var y2s = ag::Var::constant(Tensor::from_data({n, 1}, y2));
  ag::Var dp = ag::sub(ag::linear(xs, params_[0], params_[1]), ys);
  ag::Var dv = ag::sub(ag::linear(xs, params_[2], params_[3]), y2s);
  ag::Var lp = ag::mean(ag::mul(dp, dp)), lv = ag::mean(ag::mul(dv, dv));
  return {ag::add(lp, lv), {{"policy_loss", lp.item()}, {"value_loss", lv.item()}}};
}

MicroLoss ToyObjective::forward(int64_t micro) {
  const Micro& mb = micro_.at(static_cast<size_t>(micro));
  return loss_of(mb.x, mb.y, mb.y2, static_cast<int64_t>(mb.y.size()));
}

std::optional<float> ToyObjective::evaluate() {
  const int64_t n = 64 / o_.world;
  std::vector<float> x, y, y2;
  samples(o_.seed ^ 0xe7a1ULL, static_cast<uint64_t>(o_.rank * n), n, x, y, y2);
  ag::NoGradGuard no_grad;
  float loss = loss_of(x, y, y2, n).loss.item();
  ag::reset_step();
  return loss;
}

json ToyObjective::state() const { return {{"position", position_}}; }

json ToyObjective::restore(const json& s, const std::string& where, bool rollback) {
  if (!s.contains("position") || !s["position"].is_number_unsigned())
    fail("{}: field \"position\" missing or not a non-negative integer", where);
  const uint64_t saved = s["position"].get<uint64_t>();
  if (!rollback) {
    position_ = saved;
    return json::object();
  }
  return {{"skipped_samples", json::array({saved, position_})}};
}

json ToyObjective::trajectory() const { return {{"dim", o_.dim}, {"batch", o_.batch}, {"seed", o_.seed}}; }

}  // namespace baimo::train
