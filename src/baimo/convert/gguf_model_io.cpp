#include "baimo/convert/gguf_model_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/quant/row_convert.h"
#include "baimo/quant/sparse_2of4.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/progress.h"

namespace baimo {

namespace fs = std::filesystem;

namespace {

// A model to export: its config, optional tokenizer and chat template, and a reader of each
// parameter as f32 in HF layout.
struct Source {
  ModelConfig cfg;
  std::optional<Tokenizer> tok;
  std::string chat_template;
  std::string name;
  std::function<void(const ParamSpec&, std::span<float>)> read;
  std::shared_ptr<void> keep;  // whatever `read` needs alive
};

Source source_from_dir(const std::string& dir) {
  Source s;
  s.cfg = load_model_dir_config(dir);
  s.name = fs::path(dir).filename().string();
  if (s.name.empty()) s.name = fs::path(dir).parent_path().filename().string();
  const std::string tok = model_dir_tokenizer(dir);
  if (!tok.empty()) s.tok = Tokenizer::from_tokenizer_json_file(tok);
  s.chat_template = model_dir_chat_template(dir);
  auto weights = std::make_shared<std::map<std::string, std::vector<float>>>();
  read_model_dir_tensors(dir, s.cfg, [&](const ParamSpec& p) -> std::span<float> {
    auto& v = (*weights)[p.name];
    v.resize(static_cast<size_t>(p.numel()));
    return v;
  });
  s.read = [weights](const ParamSpec& p, std::span<float> out) {
    const auto& v = weights->at(p.name);
    std::copy(v.begin(), v.end(), out.begin());
  };
  s.keep = weights;
  return s;
}

Source source_from_gguf(const std::string& path) {
  auto g = std::make_shared<GgufReader>(path);
  Source s;
  s.cfg = gguf_read_config(*g);
  s.name = std::string(g->get_string("general.name").value_or(fs::path(path).stem().string()));
  if (g->find("tokenizer.ggml.model")) s.tok = tokenizer_from_gguf(*g);
  s.chat_template = gguf_read_chat_template(*g);
  const ModelConfig cfg = s.cfg;
  s.read = [g, cfg](const ParamSpec& p, std::span<float> out) { read_gguf_tensor_f32(*g, cfg, p, out); };
  s.keep = g;
  return s;
}

// llama.cpp's use_more_bits(i_layer, n_layers) of its Q4_K_M / Q5_K_M mixes.
bool use_more_bits(int64_t layer, int64_t n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

// Layer index of "model.layers.N.<suffix>" when the name ends with suffix; -1 otherwise.
int64_t layer_of(const std::string& name, std::string_view suffix) {
  constexpr std::string_view prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0 || name.size() < suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  return std::stoll(name.substr(prefix.size()));
}

DType tensor_type(const ParamSpec& p, const ModelConfig& c, const GgufExportOptions& opts) {
  if (p.shape.size() != 2) return DType::F32;  // norms and biases stay f32, as llama.cpp keeps them
  DType want = opts.type;
  if (opts.q4_k_m) {
    const bool output = p.name == "lm_head.weight" || (c.tie_word_embeddings && p.name == "model.embed_tokens.weight");
    int64_t l = layer_of(p.name, ".self_attn.v_proj.weight");
    if (l < 0) l = layer_of(p.name, ".mlp.down_proj.weight");
    if (output || (l >= 0 && use_more_bits(l, c.num_hidden_layers))) want = DType::Q6_K;
  }
  const int64_t cols = p.shape[1];
  if (opts.sparse_2of4 && p.name.rfind("model.layers.", 0) == 0 && cols % 32 == 0) return DType::Q8_0_S24;
  if (cols % dtype_info(want).block_elems == 0) return want;
  if ((want == DType::Q4_K || want == DType::Q6_K) && cols % 32 == 0) return DType::Q8_0;
  return DType::F16;
}

}  // namespace

namespace {

std::string lower_case(const std::string& name) {
  std::string n = name;
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return n;
}

// The types baimo's engine runs directly, by lower-case name (the one list of them).
std::optional<DType> engine_type_named(const std::string& n) {
  if (n == "f32") return DType::F32;
  if (n == "f16") return DType::F16;
  if (n == "bf16") return DType::BF16;
  if (n == "q8_0") return DType::Q8_0;
  if (n == "q4_0") return DType::Q4_0;
  return std::nullopt;
}
constexpr const char* kEngineTypeNames = "q8_0, q4_0, f16, bf16 or f32";

}  // namespace

DType parse_gguf_type(const std::string& name) {
  if (const std::optional<DType> t = engine_type_named(lower_case(name))) return *t;
  fail("unknown weight type \"{}\" (expected {})", name, kEngineTypeNames);
}

void set_gguf_export_type(GgufExportOptions& o, const std::string& name) {
  const std::string n = lower_case(name);
  o.q4_k_m = n == "q4_k_m";
  if (n == "q4_k" || n == "q4_k_m") {
    o.type = DType::Q4_K;
  } else if (n == "q6_k") {
    o.type = DType::Q6_K;
  } else if (const std::optional<DType> t = engine_type_named(n)) {
    o.type = *t;
  } else {
    fail("unknown GGUF weight type \"{}\" (expected q4_k_m, q4_k, q6_k, {})", name, kEngineTypeNames);
  }
}

const GgufTensorInfo& gguf_param_tensor(const GgufReader& g, const ParamSpec& spec) {
  const std::string name = gguf_tensor_name(spec.name);
  const GgufTensorInfo* t = g.find_tensor(name);
  if (!t) fail("GGUF file {}: tensor '{}' ({}) is missing", g.path(), name, spec.name);
  if (t->shape != spec.shape) {
    fail("GGUF file {}: tensor '{}' has shape {}, the config says {}", g.path(), name, fmt::join(t->shape, "x"),
         fmt::join(spec.shape, "x"));
  }
  if (!dtype_from_ggml(t->ggml_type))
    fail("GGUF file {}: tensor '{}' has ggml type {}, which baimo cannot convert (F32, F16, BF16, Q8_0, Q4_0, "
         "Q4_K, Q6_K, Q8_0_S24)",
         g.path(), name, t->ggml_type);
  return *t;
}

void read_gguf_tensor_f32(const GgufReader& g, const ModelConfig& c, const ParamSpec& spec, std::span<float> out) {
  const GgufTensorInfo& t = gguf_param_tensor(g, spec);
  const DType type = *dtype_from_ggml(t.ggml_type);
  const int64_t cols = spec.shape.back();
  const int64_t rows = spec.numel() / cols;
  if (static_cast<int64_t>(out.size()) != spec.numel())
    fail("read_gguf_tensor_f32: output for '{}' has {} floats, need {}", spec.name, out.size(), spec.numel());
  if (cols % dtype_info(type).block_elems != 0)
    fail("GGUF file {}: tensor '{}' row length {} is not a multiple of its block size", g.path(), t.name, cols);
  int64_t heads = 0;
  const bool permuted = gguf_rows_permuted(c, spec.name, &heads);
  const size_t row_bytes = dtype_bytes(type, static_cast<size_t>(cols));
  if (spec.shape.size() == 1 && permuted) {  // a q/k bias: one row whose elements are permuted
    std::vector<float> tmp(static_cast<size_t>(cols));
    quant::dequantize_row(type, t.data, tmp.data(), static_cast<size_t>(cols));
    for (int64_t e = 0; e < cols; ++e) out[static_cast<size_t>(hf_row_from_gguf(e, c.head_dim))] = tmp[e];
    return;
  }
#pragma omp parallel for schedule(static) if (rows >= 64)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t hf_r = permuted ? hf_row_from_gguf(r, c.head_dim) : r;
    quant::dequantize_row(type, t.data + r * row_bytes, out.data() + hf_r * cols, static_cast<size_t>(cols));
  }
}

void export_gguf(const std::string& src_path, const std::string& out, const GgufExportOptions& opts) {
  if (opts.type != DType::F32 && opts.type != DType::F16 && opts.type != DType::BF16 && opts.type != DType::Q8_0 &&
      opts.type != DType::Q4_0 && opts.type != DType::Q4_K && opts.type != DType::Q6_K)
    fail("GGUF export: type {} is not supported (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)", dtype_info(opts.type).name);
  if (opts.q4_k_m && opts.type != DType::Q4_K) fail("GGUF export: the Q4_K_M mix needs type Q4_K");
  if (opts.sparse_2of4 && opts.type != DType::Q8_0)
    fail("GGUF export: the compact 2:4 form is a Q8_0 form (--type q8_0), not {}", dtype_info(opts.type).name);
  Source s = open_model(src_path).is_gguf() ? source_from_gguf(src_path) : source_from_dir(src_path);
  const ModelConfig& c = s.cfg;
  require_causal_lm(c, src_path);  // GGUF (llama.cpp) models are causal LMs
  GgufWriter w;
  // llama_ftype: a pure Q4_K file says MOSTLY_Q4_K_S (14), the nearest llama.cpp has.
  const std::optional<uint32_t> file_type =
      opts.type == DType::Q4_K && !opts.q4_k_m ? std::optional<uint32_t>(14) : std::nullopt;
  gguf_write_config(w, c, opts.type, opts.name.empty() ? s.name : opts.name, file_type);
  if (s.tok) {
    gguf_write_tokenizer(w, *s.tok, c.vocab_size, s.chat_template);
    // The model's own bos/eos (config.json) win over the tokenizer's.
    if (c.bos_token_id) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*c.bos_token_id));
    if (!c.eos_token_ids.empty()) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_ids[0]));
  } else {
    std::fprintf(stderr, "warning: %s has no tokenizer; the GGUF will have none (llama.cpp needs one)\n",
                 src_path.c_str());
  }
  const std::vector<ParamSpec> layout = param_layout(c);
  uint64_t total = 0;
  for (const auto& p : layout) total += dtype_bytes(tensor_type(p, c, opts), static_cast<size_t>(p.numel()));
  auto progress = opts.progress ? std::make_shared<Progress>("export " + fs::path(out).filename().string(), total,
                                                             "MB", 1e6)
                                : nullptr;
  for (const ParamSpec& p : layout) {
    const DType type = tensor_type(p, c, opts);
    w.add_tensor(gguf_tensor_name(p.name), type, p.shape, [&s, &c, p, type, progress](uint8_t* dst) {
      const int64_t cols = p.shape.back();
      const int64_t rows = p.numel() / cols;
      std::vector<float> f(static_cast<size_t>(p.numel()));
      s.read(p, f);
      int64_t heads = 0;
      const bool permuted = gguf_rows_permuted(c, p.name, &heads);
      const size_t row_bytes = dtype_bytes(type, static_cast<size_t>(cols));
      if (p.shape.size() == 1 && permuted) {  // q/k bias: permute the elements
        std::vector<float> g(f.size());
        for (int64_t e = 0; e < cols; ++e) g[static_cast<size_t>(gguf_row_from_hf(e, c.head_dim))] = f[e];
        f.swap(g);
      }
      const bool permute_rows = permuted && p.shape.size() == 2;
      if (type == DType::Q8_0_S24)  // checked here: an exception must not leave the parallel loop
        for (int64_t r = 0; r < rows; ++r)
          if (const int64_t g = quant::first_2of4_violation(f.data() + r * cols, static_cast<size_t>(cols)); g >= 0)
            fail("--sparse 2:4: {} is not 2:4-sparse: row {}, inputs {}..{} hold more than 2 nonzero values "
                 "(prune it with `baimo prune --pattern 2:4` first)",
                 p.name, r, 4 * g, 4 * g + 3);
#pragma omp parallel for schedule(static) if (rows >= 64)
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t hf_r = permute_rows ? hf_row_from_gguf(r, c.head_dim) : r;
        quant::quantize_row(type, f.data() + hf_r * cols, dst + r * row_bytes, static_cast<size_t>(cols));
      }
      if (progress) progress->add(row_bytes * static_cast<uint64_t>(rows));
    });
  }
  w.write(out);
  if (progress) progress->finish();
}

void import_gguf(const std::string& gguf, const std::string& out_dir) {
  GgufReader g(gguf);
  const ModelConfig c = gguf_read_config(g);
  std::optional<Tokenizer> tok;
  if (g.find("tokenizer.ggml.model")) tok = tokenizer_from_gguf(g);
  const std::vector<ParamSpec> layout = param_layout(c);
  std::vector<std::vector<float>> data(layout.size());
  std::vector<SafetensorWrite> writes;
  Progress progress("import " + fs::path(gguf).filename().string(), layout.size(), "tensors");
  for (size_t i = 0; i < layout.size(); ++i) {
    data[i].resize(static_cast<size_t>(layout[i].numel()));
    read_gguf_tensor_f32(g, c, layout[i], data[i]);
    writes.push_back({layout[i].name, layout[i].shape, data[i]});
    progress.add(1);
  }
  save_model_dir(out_dir, c, writes);
  if (tok) tok->save_tokenizer_json((fs::path(out_dir) / "tokenizer.json").string());
  const std::string tmpl = gguf_read_chat_template(g);
  nlohmann::json tc = nlohmann::json::object();
  if (!tmpl.empty()) tc["chat_template"] = tmpl;
  if (tok && tok->bos_id()) tc["bos_token"] = tok->id_to_token(*tok->bos_id());
  if (tok && tok->eos_id()) tc["eos_token"] = tok->id_to_token(*tok->eos_id());
  if (tok) tc["add_bos_token"] = tok->add_bos();
  if (!tc.empty()) write_file_atomic((fs::path(out_dir) / "tokenizer_config.json").string(), tc.dump(2) + "\n");
  progress.finish();
}

}  // namespace baimo
