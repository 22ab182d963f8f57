// baimo lora merge  --model BASE --adapter DIR --out DIR        base + PEFT adapter -> full model directory
// baimo lora export --model BASE --adapter DIR --out FILE.gguf [--type f32|f16]
//                                                              PEFT adapter -> llama.cpp GGUF LoRA adapter
// BASE is a model directory or a GGUF (merge dequantizes a GGUF to an f32 model directory). See
// convert/lora_merge_model.h and convert/gguf_lora.h. Applying an adapter without merging:
// `--lora DIR` on generate, chat, eval run and serve.
#include "baimo/cli/command.h"
#include "baimo/convert/gguf_lora.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/lora_merge_model.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct LoraArgs {
  std::string model, adapter, out, type = "f32";
};

BAIMO_COMMAND(62, [](CLI::App& root) {
  auto* lora = root.add_subcommand("lora", "LoRA adapters: merge into a model, export for llama.cpp");
  lora->require_subcommand(1);
  auto m = std::make_shared<LoraArgs>();
  auto* merge = lora->add_subcommand("merge", "Merge a PEFT LoRA adapter into its base: a full model directory");
  merge->add_option("--model", m->model, "Base model directory or .gguf (dequantized to f32)")->required();
  merge->add_option("--adapter", m->adapter, "PEFT adapter directory (adapter_config.json + adapter_model.safetensors)")
      ->required();
  merge->add_option("--out", m->out, "Output model directory (replaced whole on success)")->required();
  merge->callback([m] {
    ensure_parent_dir(m->out);
    merge_lora_model(m->model, m->adapter, m->out);
    std::printf("wrote %s\n", m->out.c_str());
  });
  auto e = std::make_shared<LoraArgs>();
  auto* exp = lora->add_subcommand("export", "Write a PEFT LoRA adapter as a GGUF LoRA adapter (llama.cpp --lora)");
  exp->add_option("--model", e->model, "Base model directory or .gguf (architecture and shapes)")->required();
  exp->add_option("--adapter", e->adapter, "PEFT adapter directory")->required();
  exp->add_option("--out", e->out, "Output .gguf file")->required();
  exp->add_option("--type", e->type, "Tensor type: f32 or f16")->capture_default_str();
  exp->callback([e] {
    const DType t = parse_gguf_type(e->type);
    if (t != DType::F32 && t != DType::F16) fail("--type {}: a GGUF LoRA adapter is f32 or f16", e->type);
    prepare_output_file(e->out);
    export_gguf_lora(e->model, e->adapter, e->out, t);
    std::printf("wrote %s\n", e->out.c_str());
  });
});

}  // namespace
}  // namespace baimo::cli
