"""Writes a model directory in the exact layout of a real Qwen2.5 release (random weights): config.json
with vocab_size 151936 (the tokenizer has 151,665 tokens: padded rows), tied embeddings, q/k/v bias,
bfloat16 weights in two shards with model.safetensors.index.json, generation_config.json, and the real
tokenizer.json and tokenizer_config.json (chat template with tools) from ../shared/vectors/qwen2_5.
Usage: qwen25_layout.py SHARED_VECTORS OUT_DIR [--size tiny|0.5b] [--seed N]
  tiny: hidden 64, 2 layers, 4 / 2 heads, MLP 176 (9.8M parameters, nearly all in the embedding);
  0.5b: configs/qwen2-0.5b.json's shape (hidden 896, 24 layers, 14 / 2 heads, MLP 4864; 494M)."""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import safetensors_io as st  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("vectors")
ap.add_argument("out")
ap.add_argument("--size", choices=["tiny", "0.5b"], default="tiny")
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
V = 151936
H, I, L, NH, KV = (64, 176, 2, 4, 2) if a.size == "tiny" else (896, 4864, 24, 14, 2)
D = H // NH
os.makedirs(a.out, exist_ok=True)
cfg = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
       "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": H, "initializer_range": 0.02,
       "intermediate_size": I, "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2",
       "num_attention_heads": NH, "num_hidden_layers": L, "num_key_value_heads": KV, "rms_norm_eps": 1e-06,
       "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
       "transformers_version": "4.43.1", "use_cache": True, "use_sliding_window": False, "vocab_size": V}
json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=2)
json.dump({"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643],
           "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20,
           "transformers_version": "4.37.0"}, open(os.path.join(a.out, "generation_config.json"), "w"), indent=2)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copyfile(os.path.join(a.vectors, "qwen2_5", f), os.path.join(a.out, f))

rng = np.random.default_rng(a.seed)
def normal(*shape):
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
tensors = {"model.embed_tokens.weight": normal(V, H), "model.norm.weight": np.ones(H, np.float32)}
for l in range(L):
    p = f"model.layers.{l}."
    tensors[p + "input_layernorm.weight"] = np.ones(H, np.float32)
    tensors[p + "post_attention_layernorm.weight"] = np.ones(H, np.float32)
    for name, shape in [("self_attn.q_proj", (NH * D, H)), ("self_attn.k_proj", (KV * D, H)),
                        ("self_attn.v_proj", (KV * D, H)), ("self_attn.o_proj", (H, NH * D)),
                        ("mlp.gate_proj", (I, H)), ("mlp.up_proj", (I, H)), ("mlp.down_proj", (H, I))]:
        tensors[p + name + ".weight"] = normal(*shape)
    for name, n in [("q", NH * D), ("k", KV * D), ("v", KV * D)]:
        tensors[p + f"self_attn.{name}_proj.bias"] = normal(n)
# Two shards, as save_pretrained splits: the embedding alone in the first, the rest in the second.
names = sorted(tensors)
shards = {"model-00001-of-00002.safetensors": ["model.embed_tokens.weight"],
          "model-00002-of-00002.safetensors": [n for n in names if n != "model.embed_tokens.weight"]}
weight_map = {}
for f, ns in shards.items():
    st.write(os.path.join(a.out, f), {n: tensors[n] for n in ns}, bf16=True, metadata={"format": "pt"})
    weight_map.update({n: f for n in ns})
total = sum(t.size * 2 for t in tensors.values())
json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
          open(os.path.join(a.out, "model.safetensors.index.json"), "w"), indent=2)
print(f"wrote {a.out}: {sum(t.size for t in tensors.values()) / 1e6:.1f}M parameters ({a.size})")
