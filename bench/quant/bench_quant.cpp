// bench_quant: batch-1 matvec throughput of the inference weight formats against this machine's
// memory bandwidth, measured in the same run (see ../shared/BENCH.md).
//   Anchor: a STREAM-style copy (OpenMP, memcpy per thread) of a 1 GiB buffer (--quick: 256 MiB);
//           bandwidth = (bytes read + bytes written) / time.
//   Work:   y = W x for W of shape 4864x896, 896x4864 and 151936x896 (rows x cols; Qwen2-0.5B's
//           MLP up/down and LM head) in F32, Q8_0 and Q4_0. Each measurement rotates through enough
//           copies of W (>= 256 MiB, --quick 128 MiB) that every call reads its weights from DRAM,
//           as decoding a real model does.
//   Order:  per repetition the copy, then every case, alternating A B A B; medians over repetitions.
// Also, for 4864x896: batch-8 decode (weight GB/s) and a 128-row prefill (GFLOP/s), for reference.
// Prints GB/s of weight bytes read and its fraction of the copy bandwidth, peak RSS, and last
// `ratio quant <geometric mean over the three shapes of the packed Q4_0 fraction>`.
// Q8_0 / Q4_0 run both in ggml's row layout and repacked into 16-row groups (weight_pack.h, what
// inference loads them as).
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/kernels/cpu/weight_matmul.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/quant/block_formats.h"

#include "../memory_bandwidth.h"

using namespace baimo;
using namespace baimo::quant;
using namespace baimo::cpu;
using namespace baimo::bench;

namespace {

struct Case {
  std::string name;
  DType type;
  bool packed;  // also repacked into the 16-row interleaved layout (kernels/cpu/weight_pack.h)
  int64_t rows, cols;
  size_t weight_bytes = 0;
  std::vector<Buffer> copies;
  std::vector<std::shared_ptr<const void>> packs;  // per copy, when packed
  std::vector<const void*> packed_ptrs;
  std::vector<double> gbps;
  std::vector<double> gbps_b8;         // decode batch 8 (4864x896 only)
  std::vector<double> gflops_prefill;  // batch 128 (4864x896 only)
};

// Fills copies of a random weight in the case's format.
void prepare(Case& c, size_t rotation_bytes, std::mt19937& rng) {
  WeightMatrix probe{c.type, nullptr, c.rows, c.cols};
  c.weight_bytes = probe.bytes();
  const size_t ncopies = std::max<size_t>(1, (rotation_bytes + c.weight_bytes - 1) / c.weight_bytes);
  c.copies.emplace_back(c.weight_bytes);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> row(c.cols);
  const size_t rb = probe.row_bytes();
  for (int64_t r = 0; r < c.rows; ++r) {
    for (auto& v : row) v = nd(rng);
    uint8_t* dst = c.copies[0].data() + r * rb;
    if (c.type == DType::F32) std::memcpy(dst, row.data(), rb);
    else if (c.type == DType::Q8_0) quantize_row_q8_0(row.data(), dst, c.cols);
    else quantize_row_q4_0(row.data(), dst, c.cols);
  }
  for (size_t i = 1; i < ncopies; ++i) {
    c.copies.emplace_back(c.weight_bytes);
    std::memcpy(c.copies[i].data(), c.copies[0].data(), c.weight_bytes);
  }
  for (auto& buf : c.copies) {
    WeightMatrix w{c.type, buf.data(), c.rows, c.cols};
    if (c.packed) c.packs.push_back(pack_weights_into(w));
    c.packed_ptrs.push_back(w.packed);
  }
  if (c.packed) c.copies.clear(), c.copies.shrink_to_fit();  // only the packed copies are read
}

// Times one pass over all copies (one matmul of `batch` activation rows per copy); returns the
// seconds per call.
double run_case(Case& c, const float* x, float* y, int64_t batch = 1) {
  const auto t0 = Clock::now();
  for (size_t i = 0; i < c.packed_ptrs.size(); ++i) {
    WeightMatrix w{c.type, c.packed ? nullptr : c.copies[i].data(), c.rows, c.cols};
    w.packed = c.packed_ptrs[i];
    weight_matmul(w, x, batch, y);
  }
  return seconds_since(t0) / c.packed_ptrs.size();
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") quick = true;
    else {
      std::fprintf(stderr, "usage: bench_quant [--quick]\n");
      return 2;
    }
  }
  const size_t copy_bytes = quick ? (256u << 20) : (1u << 30);
  const size_t rotation = quick ? (128u << 20) : (256u << 20);  // >= 8x this L3 (32 MiB)
  const int reps = quick ? 3 : 9;

  std::printf("# bench quant: threads %d, isa %s, copy buffer %zu MiB, rotation >= %zu MiB, %d repetitions\n",
              omp_get_max_threads(), std::string(isa_name(best_isa())).c_str(), copy_bytes >> 20, rotation >> 20, reps);
  Buffer src(copy_bytes), dst(copy_bytes);
  std::mt19937 rng(1);
  std::vector<Case> cases;
  const int64_t shapes[3][2] = {{4864, 896}, {896, 4864}, {151936, 896}};
  struct Kind {
    DType type;
    bool packed;
    const char* name;
  };
  for (auto [type, packed, tname] : {Kind{DType::F32, false, "f32"}, Kind{DType::Q8_0, false, "q8_0"},
                                     Kind{DType::Q4_0, false, "q4_0"}, Kind{DType::Q8_0, true, "q8_0_packed"},
                                     Kind{DType::Q4_0, true, "q4_0_packed"}})
    for (auto& s : shapes) {
      Case c;
      c.name = std::string(tname) + "_" + std::to_string(s[0]) + "x" + std::to_string(s[1]);
      c.type = type;
      c.packed = packed;
      c.rows = s[0];
      c.cols = s[1];
      cases.push_back(std::move(c));
    }
  for (auto& c : cases) prepare(c, rotation, rng);

  constexpr int64_t kPrefill = 128;
  std::vector<float> x(4864 * kPrefill), y(151936 * 8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& v : x) v = nd(rng);
  for (auto& c : cases) run_case(c, x.data(), y.data());  // warm-up: page tables, thread pool, buffers
  copy_bandwidth(src, dst);

  std::vector<double> bw;
  for (int r = 0; r < reps; ++r) {
    bw.push_back(copy_bandwidth(src, dst));
    for (auto& c : cases) {
      c.gbps.push_back(c.weight_bytes / run_case(c, x.data(), y.data()) / 1e9);
      if (c.rows == 4864) {  // batch 8 decode and a 128-token prefill on the MLP-up shape
        c.gbps_b8.push_back(c.weight_bytes / run_case(c, x.data(), y.data(), 8) / 1e9);
        WeightMatrix w{c.type, c.copies.empty() ? nullptr : c.copies[0].data(), c.rows, c.cols};
        w.packed = c.packed_ptrs[0];
        const auto t0 = Clock::now();
        weight_matmul(w, x.data(), kPrefill, y.data());
        c.gflops_prefill.push_back(2.0 * c.rows * c.cols * kPrefill / seconds_since(t0) / 1e9);
      }
    }
  }
  const double bound = median(bw);
  std::printf("bench quant copy_bandwidth %.2f GB/s\n", bound);
  double log_q4 = 0;
  for (auto& c : cases) {
    const double g = median(c.gbps);
    std::printf("bench quant %s_weight_read %.2f GB/s\n", c.name.c_str(), g);
    std::printf("bench quant %s_fraction_of_bound %.3f ratio\n", c.name.c_str(), g / bound);
    std::printf("bench quant %s_matvec_time %.3f ms\n", c.name.c_str(), c.weight_bytes / (g * 1e9) * 1e3);
    if (c.type == DType::Q4_0 && c.packed) log_q4 += std::log(g / bound) / 3;
    if (!c.gbps_b8.empty()) {
      std::printf("bench quant %s_batch8_weight_read %.2f GB/s\n", c.name.c_str(), median(c.gbps_b8));
      std::printf("bench quant %s_prefill128 %.1f GFLOP/s\n", c.name.c_str(), median(c.gflops_prefill));
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("bench quant peak_rss %.0f MB\n", ru.ru_maxrss / 1024.0);
  std::printf("ratio quant %.3f\n", std::exp(log_q4));
  return 0;
}
