// ToyObjective: a deterministic synthetic regression with TWO modules and two optimizers, so that the
// Trainer's generic parts (named modules in checkpoints, exact resume, MPI) are tested on something that
// is not the LM. Used by trainer tests and the hidden `baimo debug-train-toy` (tests/e2e).
// Data: sample i of an endless stream has x_i (dim) uniform in [-1, 1) from a counter-based hash of
// (seed, i); y_i = sum_k (k+1)/dim * x_ik, z_i = sum_k (-1)^k x_ik / 2. Micro-batch: samples [p, p + batch) of the stream, rank r of
// world w taking [p + r*batch/w, p + (r+1)*batch/w); loss terms = samples.
//   policy (module 0, "policy"): p = x W_p^T + b_p      W_p (1, dim), b_p (1)
//   value  (module 1, "value"):  v = x W_v^T + b_v      W_v (1, dim), b_v (1), regressing z
//   loss = mean (p - y)^2 + mean (v - z)^2; metrics "policy_loss", "value_loss".
// state(): {"position"}; a rollback keeps the position (notes {"skipped_samples": [from, to]}).
// evaluate(): the loss on 64 fixed samples of another stream.
#pragma once
#include <cstdint>
#include <vector>

#include "baimo/train/objective.h"

namespace baimo::train {

struct ToyObjectiveOptions {
  int64_t dim = 8, batch = 8, grad_accum = 1;
  uint64_t seed = 0;
  int rank = 0, world = 1;
};

class ToyObjective : public Objective {
 public:
  explicit ToyObjective(ToyObjectiveOptions o);
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override { return static_cast<double>(o_.batch); }
  // Parameters: policy weight, policy bias, value weight, value bias.
  const std::vector<ag::Var>& params() const { return params_; }

 private:
  // Samples [first, first + n) of stream `stream` -> x (n, dim), y (n, 1), z (n, 1).
  void samples(uint64_t stream, uint64_t first, int64_t n, std::vector<float>& x, std::vector<float>& y,
               std::vector<float>& y2) const;
  MicroLoss loss_of(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& y2,
                    int64_t n) const;
  ToyObjectiveOptions o_;
  std::vector<ag::Var> params_;
  uint64_t position_ = 0;
  struct Micro {
    std::vector<float> x, y, y2;
  };
  std::vector<Micro> micro_;
};

}  // namespace baimo::train
