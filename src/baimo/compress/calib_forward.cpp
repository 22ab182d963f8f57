#include "baimo/compress/calib_forward.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "baimo/infer/layer_step.h"
#include "baimo/kernels/backend.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

int64_t longest(const std::vector<std::vector<int32_t>>& seqs) {
  size_t n = 0;
  for (const auto& s : seqs) n = std::max(n, s.size());
  return static_cast<int64_t>(n);
}

// y (n, w.rows) = x (n, w.cols) W^T for an f32 matrix.
void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  if (w.type != DType::F32 || w.data == nullptr) fail("calibration forward: expects f32 weights");
  backend().gemm(false, true, n, w.rows, w.cols, 1.0f, x, w.cols, static_cast<const float*>(w.data), w.cols, 0.0f, y,
                 w.rows);
}

// sum (width) += squares of the rows of a (n, width).
void add_squares(std::vector<double>& sum, const float* a, int64_t n, int64_t width) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < width; ++j) {
      const double v = a[r * width + j];
      sum[static_cast<size_t>(j)] += v * v;
    }
}

}  // namespace

ModelWeights f32_weights_over(const ModelConfig& cfg, const ParamMap& params) {
  ModelWeights w;
  w.config = cfg;
  fill_model_weights(
      w,
      [&](const ParamSpec& s) {
        WeightMatrix m;
        m.type = DType::F32;
        m.data = param_values(params, s).data();
        m.rows = s.shape[0];
        m.cols = s.shape[1];
        return m;
      },
      [&](const ParamSpec& s) -> const float* { return param_values(params, s).data(); });
  return w;
}

CalibrationForward::CalibrationForward(const ModelWeights& w, std::vector<std::vector<int32_t>> seqs)
    : w_(w),
      seqs_(std::move(seqs)),
      max_len_(longest(seqs_)),
      cache_(w.config, 1, std::max<int64_t>(1, max_len_)),
      rope_(static_cast<float>(w.config.rope_theta), w.config.head_dim, std::max<int64_t>(1, max_len_)) {
  const ModelConfig& c = w.config;
  const int64_t C = c.hidden_size;
  if (seqs_.empty()) fail("calibration: no sequences");
  if (max_len_ > c.max_position_embeddings)
    fail("calibration: a sequence of {} tokens exceeds max_position_embeddings {}", max_len_, c.max_position_embeddings);
  for (const auto& s : seqs_) {
    if (s.empty()) fail("calibration: an empty sequence");
    for (int32_t id : s)
      if (id < 0 || id >= c.vocab_size) fail("calibration: token id {} outside the vocabulary ({})", id, c.vocab_size);
    offset_.push_back(static_cast<size_t>(tokens_));
    tokens_ += static_cast<int64_t>(s.size());
  }
  xs_.resize(static_cast<size_t>(tokens_ * C));
  for (size_t i = 0; i < seqs_.size(); ++i) {
    StepRows r;
    r.n = static_cast<int64_t>(seqs_[i].size());
    r.ids = seqs_[i].data();
    r.x = xs_.data() + offset_[i] * static_cast<size_t>(C);
    embed_rows(w_, r, 0, r.n);
  }
  const auto L = static_cast<size_t>(max_len_);
  pos_.resize(L);
  for (size_t p = 0; p < L; ++p) pos_[p] = static_cast<int32_t>(p);
  slot_.assign(L, 0);
  x_.resize(L * static_cast<size_t>(C));
  h_.resize(L * static_cast<size_t>(C));
  tmp_.resize(L * static_cast<size_t>(C));
  q_.resize(L * static_cast<size_t>(c.q_dim()));
  att_.resize(L * static_cast<size_t>(c.q_dim()));
  k_.resize(L * static_cast<size_t>(c.kv_dim()));
  v_.resize(L * static_cast<size_t>(c.kv_dim()));
  gate_.resize(L * static_cast<size_t>(c.intermediate_size));
  up_.resize(L * static_cast<size_t>(c.intermediate_size));
  const int64_t threads = omp_get_max_threads();
  scratch_.resize(static_cast<size_t>(threads * threads *
                                      backend().kv_attention_scratch(c.num_attention_heads / c.num_key_value_heads,
                                                                     c.head_dim)));
}

void CalibrationForward::run_layer(int64_t layer, size_t i, LayerInputSquares* sq, bool update) {
  const ModelConfig& c = w_.config;
  const int64_t C = c.hidden_size, n = static_cast<int64_t>(seqs_[i].size());
  float* x = xs_.data() + offset_[i] * static_cast<size_t>(C);
  std::memcpy(x_.data(), x, static_cast<size_t>(n * C) * sizeof(float));
  StepRows rows;
  rows.n = n;
  rows.ids = seqs_[i].data();
  rows.pos = pos_.data();
  rows.slot = slot_.data();
  rows.x = x_.data();
  rows.q = q_.data(), rows.att = att_.data(), rows.k = k_.data(), rows.v = v_.data();
  rows.tmp = tmp_.data(), rows.gate = gate_.data(), rows.up = up_.data();
  const LayerStep step(c, w_.layers[static_cast<size_t>(layer)], layer, cache_, rope_, rows);
  for (int si = 0; si < LayerStep::kStages; ++si) {
    const auto s = static_cast<LayerStep::Stage>(si);
    if (s == LayerStep::kAttend) {
      step.attend_rows(0, n, scratch_.data());
      continue;
    }
    if (step.norm_weight(s)) step.norm(s, 0, n, h_.data());
    const StepProduct p = step.product(s);
    const float* in = p.in ? p.in : h_.data();
    if (sq) {
      const int64_t width = p.ws[0]->cols;
      std::vector<double>& sum = s == LayerStep::kQkv ? sq->attn_in
                                 : s == LayerStep::kO ? sq->o_in
                                 : s == LayerStep::kGateUp ? sq->mlp_in
                                                           : sq->down_in;
      add_squares(sum, in, n, width);
    }
    for (int j = 0; j < p.count; ++j) matmul(*p.ws[j], in, n, p.ys[j]);
    if (p.layout == TeamLayout::Paired)
      step.finish(s, -1, 0, p.ws[0]->rows, 0, n);
    else
      for (int j = 0; j < p.count; ++j) step.finish(s, j, 0, p.ws[j]->rows, 0, n);
  }
  if (update) std::memcpy(x, x_.data(), static_cast<size_t>(n * C) * sizeof(float));
}

LayerInputSquares CalibrationForward::input_squares(int64_t layer) {
  const ModelConfig& c = w_.config;
  LayerInputSquares sq;
  sq.attn_in.assign(static_cast<size_t>(c.hidden_size), 0.0);
  sq.mlp_in.assign(static_cast<size_t>(c.hidden_size), 0.0);
  sq.o_in.assign(static_cast<size_t>(c.q_dim()), 0.0);
  sq.down_in.assign(static_cast<size_t>(c.intermediate_size), 0.0);
  for (size_t i = 0; i < seqs_.size(); ++i) run_layer(layer, i, &sq, false);
  sq.tokens = tokens_;
  return sq;
}

void CalibrationForward::advance(int64_t layer) {
  for (size_t i = 0; i < seqs_.size(); ++i) run_layer(layer, i, nullptr, true);
}

}  // namespace baimo
