// bench_lora_base: memory and time of one forward + backward of a model whose base is frozen, the
// work of a LoRA step over that base (issue 12). One process per base storage (peak RSS is the
// process's): the runner script (./run) calls it once per storage and prints the ratios.
//   --base f32var: the base as f32 Vars with requires_grad = false (ag::linear, BLAS);
//   --base f32|f16|bf16|q8_0|q4_0: the base as frozen matrices of that type (ag::linear_frozen),
//   built in memory row by row (random normal * initializer_range, then quantized), so no f32
//   copy of a quantized base exists at any time.
// The norm weights require grad (a stand-in for the adapters: the gradient reaches the first
// layer only through every frozen product's dx). Loss: next-token cross-entropy on random tokens,
// through the fused head + loss (Transformer::loss), or with --unfused cross_entropy of the full
// (B, T, V) logits (the path before autograd lm_head_loss).
// Prints one JSON line: load seconds, RSS after load, forward and backward seconds (median over
// --steps after one warm-up step), peak RSS (ru_maxrss), loss.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/kernels/backend.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/model/transformer.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"
#include "baimo/util/process_env.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using namespace baimo;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double rss_mb() {  // current resident set, from /proc/self/statm
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

// Every 2-D parameter as a frozen matrix of `type`, filled row by row; Q8_0 / Q4_0 are then held as
// the packed copy alone, as load_training_base holds them (convert/training_base.h).
struct Storage {
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::shared_ptr<const void>> packed;
};

Transformer frozen_random(const ModelConfig& cfg, DType type) {
  auto st = std::make_shared<Storage>();
  std::vector<Transformer::FrozenParam> frozen;
  for (const ParamSpec& s : param_layout(cfg)) {
    if (s.shape.size() != 2) continue;
    const int64_t rows = s.shape[0], cols = s.shape[1];
    const size_t rb = dtype_bytes(type, static_cast<size_t>(cols));
    std::vector<uint8_t> buf(rb * static_cast<size_t>(rows));
#pragma omp parallel
    {
      std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        std::mt19937 rng(static_cast<uint32_t>(r * 7919 + s.layer + 3));
        std::normal_distribution<float> nd(0.f, static_cast<float>(cfg.initializer_range));
        for (float& v : row) v = nd(rng);
        quant::quantize_row(type, row.data(), buf.data() + r * rb, static_cast<size_t>(cols));
      }
    }
    WeightMatrix w{type, buf.data(), rows, cols};
    if (std::shared_ptr<const void> packed = backend().pack_weights(w)) {
      st->packed.push_back(std::move(packed));
      w.data = nullptr;  // buf is freed at the end of this iteration
    } else {
      st->buffers.push_back(std::move(buf));
      w.data = st->buffers.back().data();
    }
    frozen.push_back({s, w});
  }
  Transformer m(cfg, std::move(frozen), st);
  for (const auto& p : m.params()) {
    float* v = p.var.value().data<float>();
    std::fill(v, v + p.var.numel(), p.spec.kind == ParamKind::Norm ? 1.f : 0.f);
  }
  return m;
}

// --kernels: y = x W^T for a 512-row batch through W (rows x cols) in Q8_0, three ways, alternated:
// the inference kernel (int8 activations) on ggml rows and on the packed copy, and the tiled f32
// dequantize + sgemm product linear_frozen uses (exact in the weights); and dx = dy W (tiled).
void kernel_timings(int64_t batch) {
  const int64_t shapes[3][2] = {{4864, 896}, {896, 4864}, {151936, 896}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1];
    const size_t rb = dtype_bytes(DType::Q8_0, static_cast<size_t>(cols));
    std::vector<uint8_t> bytes(rb * static_cast<size_t>(rows));
    std::vector<float> row(static_cast<size_t>(cols)), x(static_cast<size_t>(batch * cols)),
        y(static_cast<size_t>(batch * rows));
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.f, 0.02f);
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : row) v = nd(rng);
      quant::quantize_row(DType::Q8_0, row.data(), bytes.data() + r * rb, static_cast<size_t>(cols));
    }
    for (float& v : x) v = nd(rng) * 50.f;
    WeightMatrix w{DType::Q8_0, bytes.data(), rows, cols};
    WeightMatrix wp = w;
    std::shared_ptr<const void> pack = backend().pack_weights(wp);
    const char* names[4] = {"int8 rows", "int8 packed", "f32 tiles (linear_frozen)", "dx tiles"};
    std::vector<double> best(4, 1e30);
    for (int rep = 0; rep < 3; ++rep) {
      for (int k = 0; k < 4; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        if (k == 0) backend().weight_matmul(w, x.data(), batch, y.data());
        if (k == 1) backend().weight_matmul(wp, x.data(), batch, y.data());
        if (k == 2) backend().weight_matmul_f32(w, x.data(), batch, y.data());
        if (k == 3) backend().weight_matmul_t(w, y.data(), batch, x.data(), false);
        best[static_cast<size_t>(k)] = std::min(best[static_cast<size_t>(k)], seconds_since(t0));
      }
    }
    const double gflop = 2.0 * static_cast<double>(batch * rows * cols) / 1e9;
    for (int k = 0; k < 4; ++k)
      std::printf("%6lld x %5lld  %-26s %7.1f ms  %6.1f GFLOP/s\n", static_cast<long long>(rows),
                  static_cast<long long>(cols), names[k], best[static_cast<size_t>(k)] * 1e3,
                  gflop / best[static_cast<size_t>(k)]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  prepare_process_env(argv, {cpu::preferred_blas_coretype()});
  std::string config, base = "q8_0";
  int64_t batch = 1, seq = 512;
  int steps = 2, threads = 2;
  CLI::App app{"baimo: one forward + backward over a frozen (quantized) base"};
  bool kernels = false, print_coretype = false;
  app.add_flag("--print-blas-coretype", print_coretype, "Print the OpenBLAS kernel baimo uses and exit");
  app.add_option("--config", config, "Model config.json");
  app.add_flag("--kernels", kernels, "Time the frozen-weight products of Qwen2-0.5B's shapes instead");
  app.add_option("--base", base, "f32var | f32 | f16 | bf16 | q8_0 | q4_0");
  app.add_option("--batch", batch);
  app.add_option("--seq", seq);
  app.add_option("--steps", steps, "Timed steps after one warm-up");
  app.add_option("--threads", threads);
  bool unfused = false;
  app.add_flag("--unfused", unfused, "Loss as cross_entropy(logits) (full (B, T, V) logits) instead of Transformer::loss");
  CLI11_PARSE(app, argc, argv);
  try {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    if (print_coretype) {
      const char* c = cpu::preferred_blas_coretype();
      std::printf("%s\n", c ? c : "");
      return 0;
    }
    if (kernels) {
      kernel_timings(batch * seq);
      return 0;
    }
    if (config.empty()) fail("--config is required");
    const ModelConfig cfg = load_model_config(config);
    auto t0 = std::chrono::steady_clock::now();
    Transformer model = base == "f32var" ? Transformer::random(cfg, 0) : frozen_random(cfg, parse_gguf_type(base));
    for (const auto& p : model.params()) p.var.node()->requires_grad = p.spec.kind == ParamKind::Norm;
    const double load_s = seconds_since(t0), load_rss = rss_mb();
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(cfg.vocab_size - 1));
    std::vector<int32_t> ids(static_cast<size_t>(batch * seq)), targets(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = tok(rng), targets[i] = tok(rng);
    const Tensor ids_t = Tensor::from_ids({batch, seq}, ids), targets_t = Tensor::from_ids({batch, seq}, targets);
    std::vector<double> fwd, bwd;
    float loss_value = 0.f;
    for (int step = 0; step < 1 + steps; ++step) {
      t0 = std::chrono::steady_clock::now();
      ag::Var loss = unfused ? ag::cross_entropy(model.logits(ids_t), targets_t) : model.loss(ids_t, targets_t);
      const double f = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      ag::backward(loss);
      const double b = seconds_since(t0);
      loss_value = loss.item();
      ag::reset_step();
      if (step > 0) fwd.push_back(f), bwd.push_back(b);
    }
    std::sort(fwd.begin(), fwd.end());
    std::sort(bwd.begin(), bwd.end());
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "{\"base\": \"%s\", \"tokens\": %lld, \"load_s\": %.2f, \"rss_after_load_mb\": %.1f, \"fwd_s\": %.3f, "
        "\"bwd_s\": %.3f, \"peak_rss_mb\": %.1f, \"loss\": %.5f}\n",
        base.c_str(), static_cast<long long>(batch * seq), load_s, load_rss, fwd[fwd.size() / 2], bwd[bwd.size() / 2],
        ru.ru_maxrss / 1024.0, loss_value);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_lora_base: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
