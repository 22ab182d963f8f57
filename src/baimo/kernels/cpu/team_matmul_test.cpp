#include "baimo/kernels/cpu/team_matmul.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "baimo/quant/row_convert.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/util/error.h"

namespace team_matmul_test {
using namespace baimo;
using namespace baimo::cpu;

// A matrix of random weights in type t (Q8_0 / Q4_0 optionally packed, Q8_0_S24 packed), owning its bytes.
struct Owned {
  WeightMatrix w;
  std::vector<float> f32;
  std::vector<uint8_t> bytes;
  std::shared_ptr<const void> packed;
};

Owned make_matrix(DType t, int64_t rows, int64_t cols, bool pack, std::mt19937& rng) {
  Owned o;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  o.f32.resize(rows * cols);
  for (auto& v : o.f32) v = nd(rng);
  if (t == DType::Q8_0_S24)  // 2:4-sparse: the last two of every 4 inputs are zero
    for (size_t i = 2; i < o.f32.size(); i += 4) o.f32[i] = o.f32[i + 1] = 0.0f;
  o.w = {t, o.f32.data(), rows, cols};
  if (t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q8_0_S24) {
    o.bytes.resize(o.w.bytes());
    for (int64_t r = 0; r < rows; ++r)
      quant::quantize_row(t, o.f32.data() + r * cols, o.bytes.data() + r * o.w.row_bytes(), cols);
    o.w.data = o.bytes.data();
    if (pack) o.packed = pack_weights_into(o.w);
  }
  return o;
}

struct Coverage {
  std::vector<std::atomic<int>> hits;  // per (matrix or -1 -> 0, row)
  explicit Coverage(size_t n) : hits(n) {}
};

// Runs team_matmul on `threads` threads (0: outside any parallel region) and checks that it equals
// weight_matmul on each matrix bit for bit and that the epilogue saw every row exactly once, in
// ranges aligned as promised.
void check_team(std::vector<Owned>& ms, TeamLayout layout, int64_t batch, int64_t align, int threads,
                CpuIsa isa) {
  const int64_t cols = ms[0].w.cols;
  std::mt19937 rng(static_cast<uint32_t>(batch * 31 + threads));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(batch * cols);
  for (auto& v : x) v = nd(rng);
  std::vector<const WeightMatrix*> ws;
  std::vector<std::vector<float>> got(ms.size()), want(ms.size());
  std::vector<float*> ys;
  int64_t total_rows = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    ws.push_back(&ms[i].w);
    got[i].assign(batch * ms[i].w.rows, -1.0f);
    want[i].resize(batch * ms[i].w.rows);
    weight_matmul(ms[i].w, x.data(), batch, want[i].data(), isa);
    ys.push_back(got[i].data());
    total_rows += ms[i].w.rows;
  }
  Coverage cov(static_cast<size_t>(total_rows));
  std::atomic<int> misaligned{0};
  auto epilogue = [&](int i, int64_t r0, int64_t r1) {
    const size_t m = layout == TeamLayout::Paired ? 0 : static_cast<size_t>(i);
    if ((layout == TeamLayout::Paired) != (i == -1)) misaligned++;
    int64_t base = 0;
    for (size_t j = 0; j < m; ++j) base += ms[j].w.rows;
    if (r0 % align != 0 || r0 % 16 != 0 || (r1 % align != 0 && r1 != ms[m].w.rows) || r1 <= r0) misaligned++;
    for (int64_t r = r0; r < r1; ++r) cov.hits[static_cast<size_t>(base + r)]++;
  };
  if (threads == 0) {
    team_matmul(ws, x.data(), batch, ys, layout, align, epilogue, isa);
  } else {
#pragma omp parallel num_threads(threads)
    team_matmul(ws, x.data(), batch, ys, layout, align, epilogue, isa);
  }
  const std::string what = fmt::format("{} {} batch {} threads {} isa {}", dtype_info(ms[0].w.type).name,
                                       layout == TeamLayout::Paired ? "paired" : "stacked", batch, threads,
                                       isa_name(isa));
  EXPECT_EQ(misaligned.load(), 0) << what;
  const int64_t covered_rows = layout == TeamLayout::Paired ? ms[0].w.rows : total_rows;
  for (int64_t r = 0; r < covered_rows; ++r) ASSERT_EQ(cov.hits[static_cast<size_t>(r)].load(), 1) << what << " row " << r;
  for (size_t i = 0; i < ms.size(); ++i)
    EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float))) << what << " matrix " << i;
}

TEST(TeamMatmul, EqualsWeightMatmulOnEveryLayoutAndThreadCount) {
  std::mt19937 rng(11);
  struct Kind {
    DType t;
    bool pack;
  };
  for (Kind k : {Kind{DType::F32, false}, Kind{DType::F16, false}, Kind{DType::Q8_0, true}, Kind{DType::Q4_0, true},
                 Kind{DType::Q8_0, false}, Kind{DType::Q4_0, false}, Kind{DType::Q8_0_S24, true}}) {
    // Stacked: q / k / v-like shapes (heads of 32 rows), rows no multiple of the item size.
    std::vector<Owned> stacked;
    stacked.push_back(make_matrix(k.t, 224, 96, k.pack, rng));
    stacked.push_back(make_matrix(k.t, 64, 96, k.pack, rng));
    stacked.push_back(make_matrix(k.t, 64, 96, k.pack, rng));
    // Paired: gate / up-like with a last partial group of 16.
    std::vector<Owned> paired;
    paired.push_back(make_matrix(k.t, 200, 64, k.pack, rng));
    paired.push_back(make_matrix(k.t, 200, 64, k.pack, rng));
    for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512Vnni}) {
      if (isa > best_isa()) continue;
      for (int threads : {0, 1, 3})
        for (int64_t batch : {1, 5, 11}) {
          check_team(stacked, TeamLayout::Stacked, batch, 32, threads, isa);
          check_team(paired, TeamLayout::Paired, batch, 16, threads, isa);
        }
    }
  }
}

TEST(TeamMatmul, RejectsBadArguments) {
  std::mt19937 rng(2);
  Owned a = make_matrix(DType::F32, 32, 64, false, rng), b = make_matrix(DType::F32, 48, 32, false, rng);
  Owned c = make_matrix(DType::F32, 48, 64, false, rng);
  const WeightMatrix* cols_differ[] = {&a.w, &b.w};
  EXPECT_THROW(cpu::team_matmul_check(cols_differ, TeamLayout::Stacked), Error);
  const WeightMatrix* rows_differ[] = {&a.w, &c.w};
  EXPECT_NO_THROW(cpu::team_matmul_check(rows_differ, TeamLayout::Stacked));
  EXPECT_THROW(cpu::team_matmul_check(rows_differ, TeamLayout::Paired), Error);
  WeightMatrix k{DType::Q4_K, a.w.data, 32, 256};
  const WeightMatrix* unsupported[] = {&k};
  EXPECT_THROW(cpu::team_matmul_check(unsupported, TeamLayout::Stacked), Error);
  std::vector<float> x(64), y(32);
  float* ys[] = {y.data()};
  const WeightMatrix* one[] = {&a.w};
  EXPECT_THROW(team_matmul(one, x.data(), 0, ys, TeamLayout::Stacked), Error);
}

}  // namespace team_matmul_test
