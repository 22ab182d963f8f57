// baimo model info --model DIR|FILE.gguf [--tensors]: the model's config, parameter count and
// stored tensors, from a model directory or a GGUF file. Every weight is read (dequantized for
// GGUF) and checked: NaN or Inf values are an error (exit 1) naming the tensors and how many, so a
// broken model is found here rather than as "perplexity -nan".
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace {

namespace fs = std::filesystem;

// Non-finite values per tensor, in layout order.
struct FiniteCheck {
  std::vector<std::string> bad;
  void check(const ParamSpec& s, std::span<const float> v) {
    size_t nan = 0, inf = 0;
    for (float x : v) nan += std::isnan(x), inf += std::isinf(x);
    if (nan || inf) bad.push_back(fmt::format("{} ({} NaN, {} Inf of {})", s.name, nan, inf, v.size()));
  }
};

void print_tensor(const ParamSpec& s, const std::string& type) {
  std::string shape;
  for (size_t i = 0; i < s.shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(s.shape[i]);
  std::printf("  %-56s %-18s %s\n", s.name.c_str(), shape.c_str(), type.c_str());
}

void run_info(const std::string& path, bool tensors) {
  const ModelPath mp = open_model(path);
  if (!mp.is_dir() && !mp.is_gguf()) fail("{}: not a model directory or a GGUF file", path);
  const bool gguf = mp.is_gguf();
  std::optional<GgufReader> reader;
  if (gguf) reader.emplace(path);
  const ModelConfig c = gguf ? gguf_read_config(*reader) : load_model_dir_config(path);
  std::printf("model        %s (%s%s)\n", path.c_str(), c.architecture().c_str(), gguf ? ", GGUF" : "");
  std::printf("parameters   %lld (%.2fM)\n", static_cast<long long>(c.parameter_count()), c.parameter_count() / 1e6);
  std::printf("layers       %lld, hidden %lld, intermediate %lld\n", static_cast<long long>(c.num_hidden_layers),
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.intermediate_size));
  std::printf("heads        %lld query, %lld key/value, head_dim %lld\n",
              static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.num_key_value_heads),
              static_cast<long long>(c.head_dim));
  std::printf("vocab        %lld, context %lld, rope_theta %g, rms_norm_eps %g\n", static_cast<long long>(c.vocab_size),
              static_cast<long long>(c.max_position_embeddings), c.rope_theta, c.rms_norm_eps);
  std::printf("bias         q/k/v %s, o %s; tied embeddings %s; stored as %s\n", c.qkv_bias ? "yes" : "no",
              c.o_bias ? "yes" : "no", c.tie_word_embeddings ? "yes" : "no",
              gguf ? "GGUF tensor types (--tensors)" : c.torch_dtype.c_str());
  const std::string tok = gguf ? std::string("(in the GGUF file)") : model_dir_tokenizer(path);
  std::printf("tokenizer    %s\n", tok.empty() ? "(none)" : tok.c_str());

  // Every weight is read (names, shapes, types) and checked for NaN / Inf, without keeping it.
  FiniteCheck finite;
  std::vector<float> scratch;
  const std::vector<ParamSpec> layout = param_layout(c);
  if (gguf) {
    for (const ParamSpec& s : layout) {
      const GgufTensorInfo& t = gguf_param_tensor(*reader, s);
      if (tensors) {
        const std::optional<DType> d = dtype_from_ggml(t.ggml_type);
        print_tensor(s, d ? std::string(dtype_info(*d).name) : fmt::format("ggml type {}", t.ggml_type));
      }
      scratch.resize(static_cast<size_t>(s.numel()));
      read_gguf_tensor_f32(*reader, c, s, scratch);
      finite.check(s, scratch);
    }
  } else {
    std::optional<ParamSpec> pending;  // the tensor read into scratch last (checked once filled)
    read_model_dir_tensors(path, c, [&](const ParamSpec& s) -> std::span<float> {
      if (pending) finite.check(*pending, scratch);
      pending = s;
      scratch.resize(static_cast<size_t>(s.numel()));
      if (tensors) print_tensor(s, "");
      return scratch;
    });
    if (pending) finite.check(*pending, scratch);
  }
  if (!finite.bad.empty()) {
    std::string list;
    for (size_t i = 0; i < finite.bad.size() && i < 8; ++i) list += "\n  " + finite.bad[i];
    if (finite.bad.size() > 8) list += fmt::format("\n  ... and {} more tensors", finite.bad.size() - 8);
    fail("{}: {} of {} tensors hold NaN or Inf weights (a diverged or damaged model):{}", path, finite.bad.size(),
         layout.size(), list);
  }
  std::printf("weights      ok (all %zu tensors present with the expected shapes, every value finite)\n", layout.size());
}

CLI::App* model_group(CLI::App& root) {
  for (CLI::App* s : root.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == "model") return s;
  auto* m = root.add_subcommand("model", "Inspect model directories and GGUF files");
  m->require_subcommand(1);
  return m;
}

BAIMO_COMMAND(25, [](CLI::App& root) {
  auto dir = std::make_shared<std::string>();
  auto tensors = std::make_shared<bool>(false);
  auto* sub = model_group(root)->add_subcommand(
      "info", "Print a model's config, parameter count and tensors; check every weight is finite");
  sub->add_option("--model", *dir, "Model directory or .gguf file")->required();
  sub->add_flag("--tensors", *tensors, "List every tensor");
  sub->callback([dir, tensors] { run_info(*dir, *tensors); });
});

}  // namespace
}  // namespace baimo::cli
