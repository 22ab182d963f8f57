// AdamW parameter groups for a Transformer: weight decay on the linear layers' weight matrices
// (and an untied lm_head), none on the embedding, RMSNorm weights and biases -- the usual
// GPT / Llama recipe. decay_all = true puts every parameter in one decayed group (torch's
// default when a model's parameters() go to AdamW unsorted).
// lora_groups: one group holding every A and B of a LoRA adapter (in layout order, A before B),
// decayed or not as asked (PEFT / HF Trainer decay LoRA matrices by default), then a group without
// decay holding the adapter's trainable token rows, if any (rows of the embedding, which baimo never
// decays: decay would pull the rows themselves, not a difference, toward zero).
#pragma once
#include <vector>

#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"

namespace baimo::train {

inline std::vector<ParamGroup> adamw_groups(const Transformer& model, bool decay_all = false) {
  ParamGroup decay{{}, true}, no_decay{{}, false};
  for (const auto& p : model.params())
    (decay_all || p.spec.kind == ParamKind::Matrix ? decay : no_decay).params.push_back(p.var);
  std::vector<ParamGroup> out{decay};
  if (!no_decay.params.empty()) out.push_back(no_decay);
  return out;
}

inline std::vector<ParamGroup> lora_groups(const LoraAdapter& adapter, bool decay) {
  ParamGroup g{{}, decay};
  for (const auto& p : adapter.pairs) {
    g.params.push_back(p.a);
    g.params.push_back(p.b);
  }
  if (adapter.token_rows.defined()) return {g, ParamGroup{{adapter.token_rows}, false}};
  return {g};
}

}  // namespace baimo::train
