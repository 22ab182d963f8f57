#include "baimo/util/hash.h"
#include "baimo/model/lora.h"

#include <algorithm>
#include <cctype>

#include "baimo/util/error.h"

namespace baimo {

namespace {

struct TargetName {
  ParamRole role;
  const char* short_name;
  const char* module;  // PEFT target_modules name
  const char* path;    // inside model.layers.N.
};

constexpr TargetName kTargets[] = {
    {ParamRole::Q, "q", "q_proj", "self_attn.q_proj"},   {ParamRole::K, "k", "k_proj", "self_attn.k_proj"},
    {ParamRole::V, "v", "v_proj", "self_attn.v_proj"},   {ParamRole::O, "o", "o_proj", "self_attn.o_proj"},
    {ParamRole::Gate, "gate", "gate_proj", "mlp.gate_proj"}, {ParamRole::Up, "up", "up_proj", "mlp.up_proj"},
    {ParamRole::Down, "down", "down_proj", "mlp.down_proj"},
};

const TargetName& target_name(ParamRole role) {
  for (const auto& t : kTargets)
    if (t.role == role) return t;
  fail("LoRA: parameter role {} is not a linear layer LoRA can adapt", static_cast<int>(role));
}

}  // namespace

void LoraConfig::validate(const std::string& where) const {
  if (r < 1) fail("{}: LoRA rank r must be >= 1, got {}", where, r);
  if (!(alpha > 0) || !std::isfinite(alpha)) fail("{}: LoRA alpha must be positive, got {}", where, alpha);
  if (!(dropout >= 0 && dropout < 1)) fail("{}: LoRA dropout must be in [0, 1), got {}", where, dropout);
  if (targets.empty()) fail("{}: LoRA needs at least one target module", where);
  for (ParamRole r : targets) target_name(r);
  for (size_t i = 0; i < trainable_tokens.size(); ++i) {
    if (trainable_tokens[i] < 0) fail("{}: trainable token id {} is negative", where, trainable_tokens[i]);
    for (size_t j = 0; j < i; ++j)
      if (trainable_tokens[j] == trainable_tokens[i])
        fail("{}: trainable token id {} is listed twice", where, trainable_tokens[i]);
  }
}

std::vector<int32_t> parse_token_ids(std::string_view csv, const std::string& where) {
  std::vector<int32_t> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t end = csv.find(',', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string item(csv.substr(start, end - start));
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }), item.end());
    start = end + 1;
    if (item.empty()) continue;
    if (!std::all_of(item.begin(), item.end(), [](unsigned char c) { return std::isdigit(c); }) || item.size() > 9)
      fail("{}: \"{}\" is not a token id (a non-negative integer)", where, item);
    const int32_t id = static_cast<int32_t>(std::stol(item));
    if (std::find(out.begin(), out.end(), id) != out.end()) fail("{}: token id {} is listed twice", where, id);
    out.push_back(id);
  }
  if (out.empty()) fail("{}: \"{}\" lists no token id", where, csv);
  return out;
}

std::string lora_target_module(ParamRole role) { return target_name(role).module; }

std::vector<ParamRole> parse_lora_targets(std::string_view csv) {
  std::vector<ParamRole> out;
  auto add = [&](ParamRole r) {
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  };
  size_t start = 0;
  while (start <= csv.size()) {
    size_t end = csv.find(',', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string item(csv.substr(start, end - start));
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }), item.end());
    std::transform(item.begin(), item.end(), item.begin(), [](unsigned char c) { return std::tolower(c); });
    start = end + 1;
    if (item.empty()) continue;
    if (item == "all" || item == "all-linear") {
      for (const auto& t : kTargets) add(t.role);
      continue;
    }
    bool found = false;
    for (const auto& t : kTargets)
      if (item == t.short_name || item == t.module) {
        add(t.role);
        found = true;
      }
    if (!found)
      fail("LoRA target \"{}\" is not one of q, k, v, o, gate, up, down (or q_proj ... down_proj, or all)", item);
  }
  if (out.empty()) fail("LoRA targets \"{}\" name no module", csv);
  // Canonical order (the layout's), whatever order the user wrote.
  std::vector<ParamRole> sorted;
  for (const auto& t : kTargets)
    if (std::find(out.begin(), out.end(), t.role) != out.end()) sorted.push_back(t.role);
  return sorted;
}

std::vector<LoraSpec> lora_layout(const ModelConfig& cfg, const LoraConfig& lc) {
  lc.validate("LoRA config");
  std::vector<LoraSpec> out;
  std::vector<ParamSpec> params = param_layout(cfg);
  for (int64_t layer = 0; layer < cfg.num_hidden_layers; ++layer)
    for (const auto& t : kTargets) {
      if (std::find(lc.targets.begin(), lc.targets.end(), t.role) == lc.targets.end()) continue;
      auto it = std::find_if(params.begin(), params.end(),
                             [&](const ParamSpec& p) { return p.layer == layer && p.role == t.role; });
      if (it == params.end()) fail("LoRA: the model has no {} in layer {}", t.module, layer);
      LoraSpec s;
      s.role = t.role;
      s.layer = layer;
      s.out = it->shape[0];
      s.in = it->shape[1];
      s.base_name = it->name;
      const std::string prefix = "base_model.model." + layer_param(layer, t.path);
      s.a_name = prefix + ".lora_A.weight";
      s.b_name = prefix + ".lora_B.weight";
      out.push_back(std::move(s));
    }
  return out;
}

LoraAdapter LoraAdapter::zeros(const ModelConfig& cfg, const LoraConfig& lc) {
  LoraAdapter ad;
  ad.config = lc;
  for (LoraSpec& s : lora_layout(cfg, lc)) {
    Pair p;
    p.a = ag::Var::leaf(Tensor::zeros({lc.r, s.in}), true, s.a_name);
    p.b = ag::Var::leaf(Tensor::zeros({s.out, lc.r}), true, s.b_name);
    p.spec = std::move(s);
    ad.pairs.push_back(std::move(p));
  }
  if (!lc.trainable_tokens.empty()) {
    for (int32_t id : lc.trainable_tokens)
      if (id >= cfg.vocab_size) fail("LoRA: trainable token id {} is outside the vocabulary of {}", id, cfg.vocab_size);
    ad.token_rows = ag::Var::leaf(Tensor::zeros({static_cast<int64_t>(lc.trainable_tokens.size()), cfg.hidden_size}),
                                  true, kTokenRowsName);
  }
  return ad;
}

LoraAdapter LoraAdapter::create(const ModelConfig& cfg, const LoraConfig& lc, uint64_t seed) {
  LoraAdapter ad = zeros(cfg, lc);
  for (Pair& p : ad.pairs) {
    const uint64_t key = splitmix64(seed ^ fnv1a(p.spec.a_name));
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.spec.in));
    float* a = p.a.value().data<float>();
    const int64_t n = p.a.numel();
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(splitmix64(key + static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;  // [0, 1)
      a[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
  }
  return ad;
}

const LoraAdapter::Pair* LoraAdapter::find(int64_t layer, ParamRole role) const {
  for (const Pair& p : pairs)
    if (p.spec.layer == layer && p.spec.role == role) return &p;
  return nullptr;
}

int64_t LoraAdapter::numel() const {
  int64_t n = 0;
  for (const Pair& p : pairs) n += p.a.numel() + p.b.numel();
  if (token_rows.defined()) n += token_rows.numel();
  return n;
}

ag::TokenRows LoraAdapter::tokens() const {
  ag::TokenRows t;
  if (!token_rows.defined()) return t;
  t.ids = Tensor::from_ids({static_cast<int64_t>(config.trainable_tokens.size())}, config.trainable_tokens);
  t.values = token_rows;
  return t;
}

}  // namespace baimo
