// baimo quantize --model M --type q8_0|q4_0|q4_k_m|q4_k|q6_k|f16|bf16|f32 --out FILE.gguf [--sparse 2:4]
//   --sparse 2:4 (with q8_0): a 2:4-pruned model's block matrices in baimo's compact form Q8_0_S24.
// baimo convert IN OUT [--type T]: model directory -> .gguf (OUT ends in .gguf), or .gguf -> model
// directory (dequantized to f32, q/k rows un-permuted). See convert/gguf_model_io.h.
#include <filesystem>

#include "baimo/cli/command.h"
#include "baimo/convert/gguf_model_io.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

struct QuantizeArgs {
  std::string model, type, out, name, sparse;
};
struct ConvertArgs {
  std::string in, out, type = "f32";
};

void register_quantize(CLI::App& root) {
  auto a = std::make_shared<QuantizeArgs>();
  auto* sub = root.add_subcommand("quantize", "Write a model as a GGUF file with q8_0/q4_0/q4_k_m/q4_k/q6_k/f16/bf16/f32 weights");
  sub->add_option("--model", a->model, "Model directory (or a .gguf to requantize)")->required();
  sub->add_option("--type", a->type,
                  "q8_0, q4_0, f16, bf16 or f32 (run directly by baimo); q4_k_m, q4_k or q6_k (llama.cpp's K-quants; "
                  "baimo runs them as f16)")
      ->required();
  sub->add_option("--out", a->out, "Output .gguf file")->required();
  sub->add_option("--name", a->name, "general.name (default: the model's directory name)");
  sub->add_option("--sparse", a->sparse,
                  "2:4: store a 2:4-pruned model's layer matrices compactly (values + 2-bit positions, 0.65x of "
                  "q8_0; with --type q8_0; read by baimo only)");
  sub->callback([a] {
    GgufExportOptions o;
    set_gguf_export_type(o, a->type);
    o.name = a->name;
    if (!a->sparse.empty() && a->sparse != "2:4")
      fail("--sparse: only the 2:4 pattern has a compact form, got \"{}\"", a->sparse);
    o.sparse_2of4 = !a->sparse.empty();
    prepare_output_file(a->out);
    export_gguf(a->model, a->out, o);
    std::printf("wrote %s (%s)\n", a->out.c_str(), a->type.c_str());
  });
}

void register_convert(CLI::App& root) {
  auto a = std::make_shared<ConvertArgs>();
  auto* sub = root.add_subcommand("convert", "Convert a model directory to GGUF (OUT.gguf) or a GGUF to a model directory");
  sub->add_option("IN", a->in, "Model directory or .gguf file")->required();
  sub->add_option("OUT", a->out, "Output: a .gguf file, or a directory")->required();
  sub->add_option("--type", a->type, "Weight type when writing GGUF (f32, f16, bf16, q8_0, q4_0, q4_k_m, q4_k, q6_k)")->capture_default_str();
  sub->callback([a] {
    if (ends_with(a->out, ".gguf")) {
      GgufExportOptions o;
      set_gguf_export_type(o, a->type);
      prepare_output_file(a->out);
      export_gguf(a->in, a->out, o);
    } else if (open_model(a->in).is_gguf()) {
      prepare_output_dir(a->out);
      import_gguf(a->in, a->out);
    } else {
      fail("convert: {} is a model directory, so OUT must be a .gguf file (got {})", a->in, a->out);
    }
    std::printf("wrote %s\n", a->out.c_str());
  });
}

BAIMO_COMMAND(60, register_quantize);
BAIMO_COMMAND(61, register_convert);

}  // namespace
}  // namespace baimo::cli
