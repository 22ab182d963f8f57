// The Backend's inference ops (what the engine calls) give the CPU kernels' results bit for bit:
// weight_matmul / weight_matmul_multi, the team product planned through TeamMatmul, kv_attention and
// kv_attention_task on a KvView.
#include <gtest/gtest.h>
#include <omp.h>

#include <memory>
#include <random>
#include <vector>

#include "baimo/kernels/backend.h"
#include "baimo/kernels/cpu/kv_attention.h"
#include "baimo/kernels/cpu/weight_matmul.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/quant/block_formats.h"

namespace backend_infer_test {
using namespace baimo;

std::vector<float> normal(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

struct Q8Matrix {
  WeightMatrix w;
  std::vector<uint8_t> bytes;
  std::shared_ptr<const void> packed;
  Q8Matrix(int64_t rows, int64_t cols, uint32_t seed, bool pack) {
    const std::vector<float> f = normal(static_cast<size_t>(rows * cols), seed);
    w = {DType::Q8_0, nullptr, rows, cols};
    bytes.resize(w.bytes());
    for (int64_t r = 0; r < rows; ++r) quant::quantize_row_q8_0(f.data() + r * cols, bytes.data() + r * w.row_bytes(), cols);
    w.data = bytes.data();
    if (pack) packed = cpu::pack_weights_into(w);
  }
};

TEST(BackendInference, WeightProductsEqualTheCpuKernels) {
  const int64_t cols = 128, batch = 3;
  Q8Matrix a(48, cols, 1, true), b(40, cols, 2, true), plain(33, cols, 3, false);
  const std::vector<float> x = normal(static_cast<size_t>(batch * cols), 4);
  for (const WeightMatrix* w : {&a.w, &b.w, &plain.w}) {
    std::vector<float> want(static_cast<size_t>(batch * w->rows)), got(want.size(), -1.0f);
    cpu::weight_matmul(*w, x.data(), batch, want.data());
    backend().weight_matmul(*w, x.data(), batch, got.data());
    EXPECT_EQ(got, want);
  }
  std::vector<float> ya(static_cast<size_t>(batch * 48)), yb(static_cast<size_t>(batch * 40));
  const WeightMatrix* ws[] = {&a.w, &b.w};
  float* ys[] = {ya.data(), yb.data()};
  backend().weight_matmul_multi(ws, x.data(), batch, ys);
  std::vector<float> wa(ya.size()), wb(yb.size());
  cpu::weight_matmul(a.w, x.data(), batch, wa.data());
  cpu::weight_matmul(b.w, x.data(), batch, wb.data());
  EXPECT_EQ(ya, wa);
  EXPECT_EQ(yb, wb);

  // The team product planned through the backend, its items run on one thread.
  std::vector<float> ta(ya.size(), -1.0f), tb(yb.size(), -1.0f);
  float* ts[] = {ta.data(), tb.data()};
  team_matmul_check(ws, TeamLayout::Stacked);
  TeamMatmul mm;
  mm.plan(ws, ts, batch, TeamLayout::Stacked, 16, 2);
  ASSERT_GT(mm.items(), 1);
  mm.prepare(x.data());
  for (int64_t it = 0; it < mm.items(); ++it) mm.run(it, x.data());
  EXPECT_EQ(ta, wa);
  EXPECT_EQ(tb, wb);
}

// pack_weights gives Q8_0 / Q4_0 matrices the CPU's 16-row layout (the products are unchanged:
// above) and leaves float matrices alone.
TEST(BackendInference, PackWeightsOnlyWhereTheKernelsReadAPackedLayout) {
  Q8Matrix q(20, 64, 8, false);
  ASSERT_EQ(q.w.packed, nullptr);
  const std::shared_ptr<const void> owner = backend().pack_weights(q.w);
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(q.w.packed, owner.get());
  std::vector<float> f(64 * 4, 1.0f);
  WeightMatrix fw{DType::F32, f.data(), 4, 64};
  EXPECT_EQ(backend().pack_weights(fw), nullptr);
  EXPECT_EQ(fw.packed, nullptr);
}

TEST(BackendInference, KvAttentionEqualsTheCpuKernel) {
  const int64_t H = 4, KV = 2, D = 32, ctx = 20, slots = 2, kv_dim = KV * D;
  std::vector<float> keys = normal(static_cast<size_t>(slots * ctx * kv_dim), 5);
  std::vector<float> values = normal(keys.size(), 6);
  const KvView kv{keys.data(), values.data(), ctx * kv_dim, kv_dim};
  const std::vector<int32_t> slot = {1, 0, 1}, pos = {7, 19, 0};
  const int64_t rows = 3;
  const std::vector<float> q = normal(static_cast<size_t>(rows * H * D), 7);
  std::vector<float> scratch(static_cast<size_t>(omp_get_max_threads() * backend().kv_attention_scratch(H / KV, D)));
  std::vector<float> want(q.size()), got(q.size(), -1.0f), tasks(q.size(), -1.0f);
  cpu::kv_attention(q.data(), rows, slot.data(), pos.data(), kv, H, KV, D, want.data(), scratch.data());
  backend().kv_attention(q.data(), rows, slot.data(), pos.data(), kv, H, KV, D, got.data(), scratch.data());
  EXPECT_EQ(got, want);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t kvh = 0; kvh < KV; ++kvh) {
      const int64_t off = r * H * D + kvh * (H / KV) * D;
      backend().kv_attention_task(q.data() + off, slot[r], pos[r], kv, kvh, H / KV, D, tasks.data() + off,
                                  scratch.data());
    }
  EXPECT_EQ(tasks, want);
}

}  // namespace backend_infer_test
