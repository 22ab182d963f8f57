// baimo model info --model PATH: the model's config, parameter count and stored tensors, for a model
// directory or a GGUF file (model/open_model.h decides which).
#include <filesystem>
#include <memory>

#include "baimo/cli/command.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

void run_info(const std::string& path, bool tensors) {
  const ModelPath mp = open_model(path);
  if (!mp.is_dir() && !mp.is_gguf()) fail("{}: not a model directory or a GGUF file", path);
  std::unique_ptr<GgufReader> gguf;
  if (mp.is_gguf()) gguf = std::make_unique<GgufReader>(path);
  const ModelConfig c = gguf ? gguf_read_config(*gguf) : load_model_dir_config(path);
  std::printf("model        %s (%s)\n", path.c_str(), c.architecture().c_str());
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
              gguf ? "gguf" : c.torch_dtype.c_str());
  std::string tok = gguf ? (gguf->find("tokenizer.ggml.model") ? path + " (GGUF metadata)" : "") : model_dir_tokenizer(path);
  std::printf("tokenizer    %s\n", tok.empty() ? "(none)" : tok.c_str());
  // Checks the weights are there (names, shapes, types) without keeping them.
  auto print = [&](const ParamSpec& s) {
    if (!tensors) return;
    std::string shape;
    for (size_t i = 0; i < s.shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(s.shape[i]);
    std::printf("  %-56s %s\n", s.name.c_str(), shape.c_str());
  };
  if (gguf) {
    for (const ParamSpec& s : param_layout(c)) {
      gguf_param_tensor(*gguf, s);
      print(s);
    }
  } else {
    std::vector<float> scratch;
    read_model_dir_tensors(path, c, [&](const ParamSpec& s) -> std::span<float> {
      scratch.resize(static_cast<size_t>(s.numel()));
      print(s);
      return scratch;
    });
  }
  std::printf("weights      ok (all %zu tensors present with the expected shapes)\n", param_layout(c).size());
}

CLI::App* model_group(CLI::App& root) {
  for (CLI::App* s : root.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == "model") return s;
  auto* m = root.add_subcommand("model", "Inspect models (directories or GGUF files)");
  m->require_subcommand(1);
  return m;
}

BAIMO_COMMAND(25, [](CLI::App& root) {
  auto dir = std::make_shared<std::string>();
  auto tensors = std::make_shared<bool>(false);
  auto* sub = model_group(root)->add_subcommand("info", "Print a model's config, parameter count and tensors");
  sub->add_option("--model", *dir, "Model directory or GGUF file")->required();
  sub->add_flag("--tensors", *tensors, "List every tensor");
  sub->callback([dir, tensors] { run_info(*dir, *tensors); });
});

}  // namespace
}  // namespace baimo::cli
