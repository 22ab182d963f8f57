#include "baimo/convert/gguf_model_meta.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string_view>

#include "baimo/convert/llama_token_type.h"
#include "baimo/tokenizer/tokenizer_merges.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

struct NamePair {
  std::string_view hf, gguf;
};
// Per-layer suffixes (after "model.layers.N." / "blk.N.").
constexpr NamePair kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
constexpr NamePair kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

std::string pre_name(PreTokenizerKind k) {
  switch (k) {
    case PreTokenizerKind::Gpt2: return "gpt-2";
    case PreTokenizerKind::Cl100k: return "llama-bpe";
    case PreTokenizerKind::Qwen2: return "qwen2";
    case PreTokenizerKind::O200k: return "gpt-4o";
    case PreTokenizerKind::DeepseekCoder: return "deepseek-coder";
    case PreTokenizerKind::Baimo: return "baimo";
  }
  return "gpt-2";
}

}  // namespace

std::string gguf_arch(const ModelConfig& c) { return c.model_type == "qwen2" ? "qwen2" : "llama"; }

uint32_t gguf_file_type(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q8_0_S24: return 7;  // MOSTLY_Q8_0: the nearest llama.cpp has
    case DType::Q4_K: return 15;  // MOSTLY_Q4_K_M
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: fail("GGUF: no llama.cpp file type for {}", dtype_info(t).name);
  }
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 8: return DType::Q8_0;
    case 12: return DType::Q4_K;
    case 14: return DType::Q6_K;
    case 30: return DType::BF16;
    case kGgmlTypeBaimoQ8_0S24: return DType::Q8_0_S24;
    default: return std::nullopt;
  }
}

std::string gguf_tensor_name(const std::string& hf) {
  for (const auto& p : kGlobalNames)
    if (hf == p.hf) return std::string(p.gguf);
  constexpr std::string_view kPrefix = "model.layers.";
  if (hf.rfind(kPrefix, 0) == 0) {
    const size_t dot = hf.find('.', kPrefix.size());
    if (dot != std::string::npos) {
      const std::string layer = hf.substr(kPrefix.size(), dot - kPrefix.size());
      const std::string_view rest = std::string_view(hf).substr(dot + 1);
      for (const auto& p : kLayerNames)
        if (rest == p.hf) return "blk." + layer + "." + std::string(p.gguf);
    }
  }
  fail("GGUF: no ggml tensor name for parameter '{}'", hf);
}

bool gguf_rows_permuted(const ModelConfig& c, const std::string& hf, int64_t* heads) {
  if (gguf_arch(c) != "llama") return false;
  auto ends = [&](std::string_view s) { return hf.size() >= s.size() && hf.compare(hf.size() - s.size(), s.size(), s) == 0; };
  if (ends("self_attn.q_proj.weight") || ends("self_attn.q_proj.bias")) {
    *heads = c.num_attention_heads;
    return true;
  }
  if (ends("self_attn.k_proj.weight") || ends("self_attn.k_proj.bias")) {
    *heads = c.num_key_value_heads;
    return true;
  }
  return false;
}

// HF row h*D + j*D/2 + i  <->  GGUF row h*D + 2i + j.
int64_t gguf_row_from_hf(int64_t r, int64_t d) {
  const int64_t h = r / d, w = r % d, half = d / 2;
  const int64_t j = w / half, i = w % half;
  return h * d + 2 * i + j;
}
int64_t hf_row_from_gguf(int64_t r, int64_t d) {
  const int64_t h = r / d, w = r % d, half = d / 2;
  const int64_t i = w / 2, j = w % 2;
  return h * d + j * half + i;
}

void gguf_write_config(GgufWriter& w, const ModelConfig& c, DType main_type, const std::string& name,
                       std::optional<uint32_t> file_type) {
  const std::string a = gguf_arch(c);
  w.set_string("general.architecture", a);
  w.set_string("general.name", name);
  w.set_u32("general.file_type", file_type ? *file_type : gguf_file_type(main_type));
  w.set_u32("general.quantization_version", 2);
  w.set_u32(a + ".context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(c.num_key_value_heads));
  w.set_u32(a + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.set_u32(a + ".attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.set_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  w.set_u32(a + ".vocab_size", static_cast<uint32_t>(c.vocab_size));
}

void gguf_write_tokenizer(GgufWriter& w, const Tokenizer& tok, int64_t vocab_size, const std::string& chat_template) {
  using namespace llama_token_type;  // kNormal, kControl, ...
  const size_t n_tok = tok.vocab_size();
  if (static_cast<int64_t>(n_tok) > vocab_size)
    fail("GGUF export: the tokenizer has {} tokens, more than the model's vocab_size {}", n_tok, vocab_size);
  // As llama.cpp's own converter does for Qwen2.5 (every public Qwen2.5 GGUF): the vocabulary, merges
  // and pre-tokenizer go in, the normalizer cannot. Text already in NFC (nearly all text) gets the same ids.
  if (tok.normalizer() != Normalizer::None)
    std::fprintf(stderr,
                 "warning: the tokenizer normalizes text to NFC, which a GGUF tokenizer cannot express; the GGUF "
                 "tokenizes without it, as llama.cpp does (text not in NFC, e.g. decomposed accents, may get "
                 "other ids than with tokenizer.json)\n");
  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<int32_t> types(static_cast<size_t>(vocab_size), kUnused);
  for (size_t id = 0; id < tokens.size(); ++id) {
    const auto u = static_cast<uint32_t>(id);
    if (id < n_tok && !tok.token_bytes(u).empty()) {
      tokens[id] = tok.id_to_token(u);
      types[id] = tok.is_added(u) ? (tok.is_special(u) ? kControl : kUserDefined) : kNormal;
    } else {
      tokens[id] = "[PAD" + std::to_string(id) + "]";
    }
  }
  // Merges in rank order, as tokenizer.json spells them (no round trip through tokenizer.json text).
  const std::vector<std::string> merges = tokenizer_merges_text(tok);
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre_name(tok.pretokenizer_kind()));
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
  w.set_string_array("tokenizer.ggml.merges", merges);
  if (tok.bos_id()) w.set_u32("tokenizer.ggml.bos_token_id", *tok.bos_id());
  if (tok.eos_id()) w.set_u32("tokenizer.ggml.eos_token_id", *tok.eos_id());
  w.set_bool("tokenizer.ggml.add_bos_token", tok.add_bos() && tok.bos_id());
  w.set_bool("tokenizer.ggml.add_eos_token", false);
  if (!chat_template.empty()) w.set_string("tokenizer.chat_template", chat_template);
}

ModelConfig gguf_read_config(const GgufReader& g) {
  const std::string& file = g.path();
  const auto arch_v = g.get_string("general.architecture");
  if (!arch_v) fail("GGUF file {}: general.architecture is missing", file);
  const std::string a(*arch_v);
  if (a != "llama" && a != "qwen2")
    fail("GGUF file {}: general.architecture = \"{}\" is not supported (llama or qwen2)", file, a);
  auto need = [&](const std::string& key) -> int64_t {
    auto v = g.get_uint(a + "." + key);
    if (!v) fail("GGUF file {}: {}.{} is missing", file, a, key);
    if (*v == 0 || *v > (uint64_t{1} << 31)) fail("GGUF file {}: {}.{} = {} is out of range", file, a, key, *v);
    return static_cast<int64_t>(*v);
  };
  // GGUF stores these as f32: take the shortest decimal that rounds to that f32 (1e-05, not
  // 9.99999974738e-06), so config.json round-trips.
  auto opt_float = [&](const std::string& key, double dflt) {
    auto v = g.get_float(a + "." + key);
    if (!v) return dflt;
    if (!std::isfinite(*v)) fail("GGUF file {}: {}.{} is not finite", file, a, key);
    return std::stod(fmt::format("{}", static_cast<float>(*v)));
  };
  ModelConfig c;
  c.model_type = a;
  c.max_position_embeddings = need("context_length");
  c.hidden_size = need("embedding_length");
  c.num_hidden_layers = need("block_count");
  // Each layer has at least 9 tensors (2 norms, q, k, v, o, gate, up, down): a larger count
  // cannot be backed by this file (and would only make every later check slower).
  if (static_cast<uint64_t>(c.num_hidden_layers) * 9 > g.tensors().size())
    fail("GGUF file {}: {}.block_count = {} but the file holds only {} tensors", file, a, c.num_hidden_layers,
         g.tensors().size());
  c.intermediate_size = need("feed_forward_length");
  c.num_attention_heads = need("attention.head_count");
  c.num_key_value_heads = g.find_int(a + ".attention.head_count_kv") ? need("attention.head_count_kv")
                                                                     : c.num_attention_heads;
  if (g.find_int(a + ".attention.key_length")) {
    c.head_dim = need("attention.key_length");
    if (g.find_int(a + ".attention.value_length") && need("attention.value_length") != c.head_dim)
      fail("GGUF file {}: attention.key_length != value_length is not supported", file);
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail("GGUF file {}: {}.attention.head_count does not divide embedding_length", file, a);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (g.find_int(a + ".rope.dimension_count") && need("rope.dimension_count") != c.head_dim)
    fail("GGUF file {}: partial rotary embeddings (rope.dimension_count != head size) are not supported", file);
  c.rms_norm_eps = opt_float("attention.layer_norm_rms_epsilon", 1e-6);
  c.rope_theta = opt_float("rope.freq_base", 10000.0);
  const GgufTensorInfo* embd = g.find_tensor("token_embd.weight");
  if (!embd || embd->shape.size() != 2) fail("GGUF file {}: tensor token_embd.weight (2-D) is missing", file);
  c.vocab_size = embd->shape[0];
  c.tie_word_embeddings = g.find_tensor("output.weight") == nullptr;
  c.qkv_bias = g.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_bias = g.find_tensor("blk.0.attn_output.bias") != nullptr;
  if (a == "qwen2" && !c.qkv_bias) fail("GGUF file {}: qwen2 model without blk.0.attn_q.bias", file);
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    auto v = g.get_uint(key);
    if (!v) continue;
    if (*v >= static_cast<uint64_t>(c.vocab_size))
      fail("GGUF file {}: {} = {} is not below the vocabulary size {}", file, key, *v, c.vocab_size);
    if (std::string_view(key) == "tokenizer.ggml.bos_token_id") c.bos_token_id = static_cast<int64_t>(*v);
    else c.eos_token_ids.push_back(static_cast<int64_t>(*v));
  }
  c.validate(file);
  return c;
}

std::string gguf_read_chat_template(const GgufReader& g) {
  auto t = g.get_string("tokenizer.chat_template");
  return t ? std::string(*t) : std::string();
}

}  // namespace baimo
