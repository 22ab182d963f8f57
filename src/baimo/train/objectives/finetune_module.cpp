#include "baimo/train/objectives/finetune_module.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "baimo/convert/peft_adapter.h"
#include "baimo/train/checkpoint.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace baimo::train {

TrainModule finetune_module(Transformer& model, LoraAdapter* adapter, const FinetuneModuleOptions& o) {
  TrainModule m;
  if (!adapter) {
    ModelDirSave save;
    save.tokenizer_json = o.tokenizer_json;
    CheckpointModule c = transformer_module("model", model, nullptr, save);
    m.name = c.name;
    m.params = std::move(c.params);
    m.groups = adamw_groups(model, o.weight_decay_all);
    m.save_dir = std::move(c.save_dir);
    m.load_dir = std::move(c.load_dir);
    return m;
  }
  m.name = "lora";
  for (const auto& p : adapter->pairs) {
    m.params.emplace_back(p.spec.a_name, p.a);
    m.params.emplace_back(p.spec.b_name, p.b);
  }
  if (adapter->token_rows.defined()) m.params.emplace_back(kTokenRowsName, adapter->token_rows);
  m.groups = lora_groups(*adapter, o.decay_lora);
  const std::string base = o.base_model;
  const ModelConfig cfg = model.config();
  m.save_dir = [adapter, base](const std::string& dir) { write_peft_adapter_files(dir, *adapter, base); };
  m.load_dir = [adapter, cfg](const std::string& dir) {
    LoraAdapter saved = load_peft_adapter(dir, cfg);
    if (saved.pairs.size() != adapter->pairs.size() || saved.config.r != adapter->config.r)
      fail("{}: the adapter in the checkpoint (r {}, {} matrices) is not this run's (r {}, {} matrices)", dir,
           saved.config.r, saved.pairs.size() * 2, adapter->config.r, adapter->pairs.size() * 2);
    for (size_t i = 0; i < saved.pairs.size(); ++i) {
      auto copy = [](const ag::Var& from, ag::Var& to) {
        std::copy_n(from.value().data<float>(), to.numel(), to.value().data<float>());
      };
      if (saved.pairs[i].spec.a_name != adapter->pairs[i].spec.a_name)
        fail("{}: adapter matrix {} is not this run's {}", dir, saved.pairs[i].spec.a_name,
             adapter->pairs[i].spec.a_name);
      copy(saved.pairs[i].a, adapter->pairs[i].a);
      copy(saved.pairs[i].b, adapter->pairs[i].b);
    }
    if (saved.config.trainable_tokens != adapter->config.trainable_tokens)
      fail("{}: the checkpoint's trainable tokens [{}] are not this run's [{}]", dir,
           fmt::join(saved.config.trainable_tokens, ", "), fmt::join(adapter->config.trainable_tokens, ", "));
    if (adapter->token_rows.defined())
      std::copy_n(saved.token_rows.value().data<float>(), adapter->token_rows.numel(),
                  adapter->token_rows.value().data<float>());
  };
  return m;
}

}  // namespace baimo::train
