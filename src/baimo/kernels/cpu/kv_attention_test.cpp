#include "baimo/kernels/cpu/kv_attention.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "baimo/model/kv_cache.h"

namespace kv_attention_test {
using namespace baimo;

// A cache of `layers` x `slots` x `ctx` positions with n_kv heads of size D, random keys/values at
// positions < row length and NaN beyond, so reading a key or value past a row's position shows up.
struct AttnCase {
  int64_t G, D, n_kv = 2, layers = 2;
  int slots = 3;
  int64_t ctx;
  ModelConfig cfg;
  std::vector<int32_t> row_slot, row_pos;
  std::vector<float> q;
  AttnCase(int64_t G_, int64_t D_, const std::vector<int64_t>& lengths, float q_scale) : G(G_), D(D_) {
    ctx = 1;
    for (int64_t n : lengths) ctx = std::max(ctx, n);
    cfg.num_hidden_layers = layers;
    cfg.num_attention_heads = G * n_kv;
    cfg.num_key_value_heads = n_kv;
    cfg.head_dim = D;
    // Rows: the longest one on the last slot (its keys end where the cache allocation ends, for ASan),
    // the others spread over the slots.
    for (size_t i = 0; i < lengths.size(); ++i) {
      row_slot.push_back(lengths[i] == ctx ? slots - 1 : static_cast<int32_t>(i % 2));
      row_pos.push_back(static_cast<int32_t>(lengths[i] - 1));
    }
    std::mt19937 rng(static_cast<uint32_t>(G * 1000 + D + 7 * lengths.size()));
    std::normal_distribution<float> nd(0.f, 1.f);
    q.resize(lengths.size() * static_cast<size_t>(G * n_kv * D));
    for (float& x : q) x = q_scale * nd(rng);
    cache = std::make_unique<KvCache>(cfg, slots, ctx);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t l = 0; l < layers; ++l)
      for (int s = 0; s < slots; ++s) {
        int64_t valid = 0;  // the longest row on this slot
        for (size_t i = 0; i < row_slot.size(); ++i)
          if (row_slot[i] == s) valid = std::max<int64_t>(valid, row_pos[i] + 1);
        float* k = cache->keys(l, s);
        float* v = cache->values(l, s);
        for (int64_t i = 0; i < ctx * n_kv * D; ++i) {
          const bool ok = i / (n_kv * D) < valid;
          k[i] = ok ? nd(rng) : nan;
          v[i] = ok ? nd(rng) : nan;
        }
      }
  }
  int64_t rows() const { return static_cast<int64_t>(row_pos.size()); }
  int64_t q_dim() const { return G * n_kv * D; }
  // NaN in the positions past row r's own (rows sharing a slot are shorter than its longest row).
  void poison_beyond(int64_t layer, int64_t r) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    float* k = cache->keys(layer, row_slot[static_cast<size_t>(r)]);
    float* v = cache->values(layer, row_slot[static_cast<size_t>(r)]);
    for (int64_t i = (row_pos[static_cast<size_t>(r)] + 1) * n_kv * D; i < ctx * n_kv * D; ++i) k[i] = v[i] = nan;
  }
  std::vector<float> run(int64_t layer, cpu::CpuIsa isa) const {
    std::vector<float> out(static_cast<size_t>(rows() * q_dim()), -1.f);
    std::vector<float> scratch(static_cast<size_t>(omp_get_max_threads() * cpu::kv_attention_scratch(G, D)));
    cpu::kv_attention(q.data(), rows(), row_slot.data(), row_pos.data(), cache->view(layer), G * n_kv, n_kv, D,
                      out.data(), scratch.data(), isa);
    return out;
  }
  // softmax(q K^T / sqrt(D)) V in double.
  std::vector<double> naive(int64_t layer) const {
    std::vector<double> out(static_cast<size_t>(rows() * q_dim()));
    const int64_t kv_dim = n_kv * D;
    for (int64_t r = 0; r < rows(); ++r) {
      const float* K = cache->keys(layer, row_slot[static_cast<size_t>(r)]);
      const float* V = cache->values(layer, row_slot[static_cast<size_t>(r)]);
      const int64_t n = row_pos[static_cast<size_t>(r)] + 1;
      for (int64_t h = 0; h < G * n_kv; ++h) {
        const int64_t kvh = h / G;
        const float* qh = q.data() + r * q_dim() + h * D;
        std::vector<double> s(static_cast<size_t>(n));
        double mx = -1e300;
        for (int64_t j = 0; j < n; ++j) {
          double d = 0;
          for (int64_t i = 0; i < D; ++i) d += static_cast<double>(qh[i]) * K[j * kv_dim + kvh * D + i];
          s[static_cast<size_t>(j)] = d / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, s[static_cast<size_t>(j)]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int64_t i = 0; i < D; ++i) {
          double o = 0;
          for (int64_t j = 0; j < n; ++j) o += s[static_cast<size_t>(j)] * V[j * kv_dim + kvh * D + i];
          out[static_cast<size_t>(r * q_dim() + h * D + i)] = o / sum;
        }
      }
    }
    return out;
  }
  std::unique_ptr<KvCache> cache;
};

std::vector<cpu::CpuIsa> isas() {
  std::vector<cpu::CpuIsa> v{cpu::CpuIsa::Scalar};
  if (cpu::best_isa() >= cpu::CpuIsa::Avx2) v.push_back(cpu::CpuIsa::Avx2);
  if (cpu::best_isa() >= cpu::CpuIsa::Avx512Bw) v.push_back(cpu::CpuIsa::Avx512Bw);
  return v;
}

// |got - want| <= tol * (1 + |want|) element-wise; returns the worst excess for the message.
template <class A, class B>
void expect_close(const A& got, const B& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])) /
                     (1.0 + std::abs(static_cast<double>(want[i])));
    if (!(e <= worst)) worst = e, at = i;  // NaN counts as the worst
  }
  EXPECT_LE(worst, tol) << what << ": element " << at << " got " << got[at] << " want " << want[at];
}

class KvAttentionShapes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(KvAttentionShapes, EveryIsaMatchesScalarAndDoubleReference) {
  const int64_t D = std::get<0>(GetParam()), G = std::get<1>(GetParam());
  // Context lengths around the 8- and 16-key vectors and the 64-key blocks; rows share slots.
  const std::vector<int64_t> lengths{1, 15, 16, 17, 100, 1000, 63, 65};
  for (float q_scale : {1.0f, 4.0f}) {  // flat and peaked softmax
    AttnCase s(G, D, lengths, q_scale);
    for (int64_t layer : {int64_t{0}, int64_t{1}}) {
      const std::vector<double> want = s.naive(layer);
      const std::vector<float> ref = s.run(layer, cpu::CpuIsa::Scalar);
      for (cpu::CpuIsa isa : isas()) {
        const std::string what = "D " + std::to_string(D) + " G " + std::to_string(G) + " layer " +
                                 std::to_string(layer) + " q_scale " + std::to_string(q_scale) + " isa " +
                                 std::string(cpu::isa_name(isa));
        const std::vector<float> got = s.run(layer, isa);
        expect_close(got, want, 1e-5, what + " vs double");
        expect_close(got, ref, 1e-5, what + " vs scalar");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HeadDimsAndGroups, KvAttentionShapes,
                         ::testing::Combine(::testing::Values(32, 64, 128, 48, 16, 24, 20, 160),
                                            ::testing::Values(1, 2, 7)),
                         [](const auto& info) {
                           std::string name = "D";  // (appends: GCC 12 warns -Wrestrict on "literal" + string&&)
                           name += std::to_string(std::get<0>(info.param));
                           name += "_G";
                           name += std::to_string(std::get<1>(info.param));
                           return name;
                         });

// One row per slot position 0..n-1 of one slot (a prefill chunk): row i sees keys 0..i only, so the
// NaN-free result for row i must not change when the keys after i are replaced by NaN.
TEST(KvAttention, RowsSeeOnlyTheirOwnPrefix) {
  const std::vector<int64_t> lengths{40};
  for (cpu::CpuIsa isa : isas()) {
    AttnCase s(2, 32, lengths, 2.0f);
    std::vector<float> full;
    for (int64_t len = 40; len >= 1; len -= 13) {
      AttnCase t(2, 32, lengths, 2.0f);  // same seed: the same cache and query
      t.row_pos[0] = static_cast<int32_t>(len - 1);
      t.poison_beyond(0, 0);
      const std::vector<float> got = t.run(0, isa);
      s.row_pos[0] = static_cast<int32_t>(len - 1);
      const std::vector<float> clean = s.run(0, isa);
      for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], clean[i]) << cpu::isa_name(isa) << " len " << len;
    }
  }
}

// Tasks are independent and each is computed by one thread: any thread count gives the same bits.
TEST(KvAttention, ThreadCountDoesNotChangeResults) {
  AttnCase s(7, 64, {1000, 900, 3, 200}, 1.0f);
  const int saved = omp_get_max_threads();
  for (cpu::CpuIsa isa : isas()) {
    omp_set_num_threads(1);
    const std::vector<float> one = s.run(1, isa);
    omp_set_num_threads(std::max(2, saved));
    const std::vector<float> many = s.run(1, isa);
    omp_set_num_threads(saved);
    for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], many[i]) << cpu::isa_name(isa);
  }
}

// kv_attention_task on every (row, kv head) gives kv_attention's bits (the best ISA's kernel).
TEST(KvAttention, SingleTaskMatchesTheBatchedCall) {
  for (int64_t D : {32, 64, 20}) {
    AttnCase s(7, D, {1, 17, 200, 65}, 1.0f);
    const std::vector<float> want = s.run(1, cpu::best_isa());
    std::vector<float> got(want.size(), -1.f);
    std::vector<float> scratch(static_cast<size_t>(cpu::kv_attention_scratch(s.G, D)));
    for (int64_t r = 0; r < s.rows(); ++r)
      for (int64_t kvh = 0; kvh < s.n_kv; ++kvh) {
        const int64_t off = r * s.q_dim() + kvh * s.G * D;
        cpu::kv_attention_task(s.q.data() + off, s.row_slot[static_cast<size_t>(r)],
                               s.row_pos[static_cast<size_t>(r)], s.cache->view(1), kvh, s.G, D, got.data() + off,
                               scratch.data());
      }
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "D " << D << " element " << i;
  }
}

// Extreme scores: one key dominates by far more than exp's range; the result is that key's value.
TEST(KvAttention, DominantKeyGivesItsValue) {
  for (cpu::CpuIsa isa : isas()) {
    AttnCase s(2, 32, {70}, 1.0f);
    float* k = s.cache->keys(0, s.row_slot[0]);
    const float* v = s.cache->values(0, s.row_slot[0]);
    const int64_t kv_dim = s.n_kv * s.D, hot = 66;  // in the second 64-key block, tail part
    for (int64_t j = 0; j < 70; ++j)
      for (int64_t i = 0; i < kv_dim; ++i) k[j * kv_dim + i] = j == hot ? 100.f * s.q[static_cast<size_t>(i)] : 0.f;
    const std::vector<float> got = s.run(0, isa);
    for (int64_t i = 0; i < s.D; ++i)  // head 0 reads kv head 0
      EXPECT_NEAR(got[static_cast<size_t>(i)], v[hot * kv_dim + i], 1e-6) << cpu::isa_name(isa);
  }
}

}  // namespace kv_attention_test
