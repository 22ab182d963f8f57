#include "baimo/infer/layer_step.h"

#include <cstring>

#include "baimo/kernels/backend.h"
#include "baimo/quant/row_convert.h"

namespace baimo {

LayerStep::LayerStep(const ModelConfig& c, const LayerWeights& w, int64_t layer, KvCache& cache,
                     const RopeTable& rope, const StepRows& rows)
    : c_(c),
      w_(w),
      layer_(layer),
      cache_(cache),
      rope_(rope),
      r_(rows),
      C_(c.hidden_size),
      H_(c.num_attention_heads),
      KV_(c.num_key_value_heads),
      D_(c.head_dim),
      Q_(c.q_dim()),
      KVD_(c.kv_dim()),
      F_(c.intermediate_size),
      eps_(static_cast<float>(c.rms_norm_eps)) {}

const float* LayerStep::norm_weight(Stage s) const {
  return s == kQkv ? w_.attn_norm : s == kGateUp ? w_.mlp_norm : nullptr;
}

void LayerStep::norm(Stage s, int64_t r0, int64_t r1, float* h) const {
  const float* nw = norm_weight(s);
  for (int64_t r = r0; r < r1; ++r) rmsnorm_row(r_.x + r * C_, nw, C_, eps_, h + r * C_);
}

StepProduct LayerStep::product(Stage s) const {
  StepProduct p;
  switch (s) {
    case kQkv:
      p.ws[0] = &w_.q, p.ws[1] = &w_.k, p.ws[2] = &w_.v;
      p.ys[0] = r_.q, p.ys[1] = r_.k, p.ys[2] = r_.v;
      p.count = 3;
      p.align = D_;
      break;
    case kO:
      p.ws[0] = &w_.o, p.ys[0] = r_.tmp, p.count = 1, p.in = r_.att;
      break;
    case kGateUp:
      p.ws[0] = &w_.gate, p.ws[1] = &w_.up;
      p.ys[0] = r_.gate, p.ys[1] = r_.up;
      p.count = 2;
      p.layout = TeamLayout::Paired;
      break;
    case kDown:
      p.ws[0] = &w_.down, p.ys[0] = r_.tmp, p.count = 1, p.in = r_.gate;
      break;
    default:
      break;
  }
  return p;
}

void LayerStep::finish_qkv(int i, int64_t a, int64_t b, int64_t r0, int64_t r1) const {
  float* y = i == 0 ? r_.q : i == 1 ? r_.k : r_.v;
  const float* bias = i == 0 ? w_.q_bias : i == 1 ? w_.k_bias : w_.v_bias;
  const int64_t ld = i == 0 ? Q_ : KVD_;
  for (int64_t r = r0; r < r1; ++r) {
    float* yr = y + r * ld;
    if (bias) {
#pragma omp simd
      for (int64_t j = a; j < b; ++j) yr[j] += bias[j];
    }
    if (i < 2) rope_heads(yr + a, rope_.row(r_.pos[r]), (b - a) / D_, D_);
    if (i > 0) {
      float* cache = i == 1 ? cache_.keys(layer_, r_.slot[r]) : cache_.values(layer_, r_.slot[r]);
      std::memcpy(cache + static_cast<size_t>(r_.pos[r]) * KVD_ + a, yr + a, (b - a) * sizeof(float));
    }
  }
}

void LayerStep::add_residual(const float* bias, int64_t a, int64_t b, int64_t r0, int64_t r1) const {
  for (int64_t r = r0; r < r1; ++r) {
    float* xr = r_.x + r * C_;
    const float* yr = r_.tmp + r * C_;
    if (bias) {
#pragma omp simd
      for (int64_t j = a; j < b; ++j) xr[j] += yr[j] + bias[j];
    } else {
#pragma omp simd
      for (int64_t j = a; j < b; ++j) xr[j] += yr[j];
    }
  }
}

void LayerStep::finish(Stage s, int i, int64_t a, int64_t b, int64_t r0, int64_t r1) const {
  switch (s) {
    case kQkv:
      finish_qkv(i, a, b, r0, r1);
      break;
    case kO:
      add_residual(w_.o_bias, a, b, r0, r1);
      break;
    case kGateUp:
      for (int64_t r = r0; r < r1; ++r)
        swiglu_range(r_.gate + r * F_ + a, r_.up + r * F_ + a, b - a, r_.gate + r * F_ + a);
      break;
    case kDown:
      add_residual(nullptr, a, b, r0, r1);
      break;
    default:
      break;
  }
}

void LayerStep::attend(int64_t r, int64_t g, float* scratch) const {
  const int64_t G = H_ / KV_, off = r * Q_ + g * G * D_;
  backend().kv_attention_task(r_.q + off, r_.slot[r], r_.pos[r], cache_.view(layer_), g, G, D_, r_.att + off, scratch);
}

void LayerStep::attend_rows(int64_t r0, int64_t r1, float* scratch) const {
  backend().kv_attention(r_.q + r0 * Q_, r1 - r0, r_.slot + r0, r_.pos + r0, cache_.view(layer_), H_, KV_, D_, r_.att + r0 * Q_,
               scratch);
}

void embed_rows(const ModelWeights& w, const StepRows& rows, int64_t r0, int64_t r1) {
  const int64_t C = w.config.hidden_size;
  if (w.embed.data == nullptr) {  // a packed-only Q8_0 / Q4_0 table (a frozen training base)
    backend().weight_rows(w.embed, rows.ids + r0, r1 - r0, rows.x + r0 * C);
    return;
  }
  const auto* table = static_cast<const uint8_t*>(w.embed.data);
  const size_t row_bytes = w.embed.row_bytes();
  for (int64_t i = r0; i < r1; ++i)
    quant::dequantize_row(w.embed.type, table + static_cast<size_t>(rows.ids[i]) * row_bytes, rows.x + i * C,
                          static_cast<size_t>(C));
}

void head_norm(const ModelWeights& w, const StepRows& rows, const int32_t* out_rows, int64_t i0, int64_t i1,
               float* h) {
  const int64_t C = w.config.hidden_size;
  const float eps = static_cast<float>(w.config.rms_norm_eps);
  for (int64_t i = i0; i < i1; ++i)
    rmsnorm_row(rows.x + static_cast<int64_t>(out_rows[i]) * C, w.final_norm, C, eps, h + i * C);
}

}  // namespace baimo
