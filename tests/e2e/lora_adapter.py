#!/usr/bin/env python3
"""Writes a PEFT LoRA adapter directory for a model directory, as PEFT's save_pretrained would
(adapter_config.json + adapter_model.safetensors, metadata {"format": "pt"}), with random non-zero A
and B so that the adapter changes the model's outputs (the e2e tests need an adapter that matters).

Usage: lora_adapter.py MODEL_DIR OUT_DIR [--r 4] [--alpha 8] [--b-std 0.05] [--seed 1]
                       [--targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj] [--rslora]"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import safetensors_io as st  # noqa: E402

PATHS = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
         "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
         "down_proj": "mlp.down_proj"}

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("out")
p.add_argument("--r", type=int, default=4)
p.add_argument("--alpha", type=float, default=8)
p.add_argument("--b-std", type=float, default=0.05)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--targets", default=",".join(PATHS))
p.add_argument("--rslora", action="store_true")
a = p.parse_args()

cfg = json.load(open(os.path.join(a.model, "config.json")))
H, I = cfg["hidden_size"], cfg["intermediate_size"]
NH = cfg["num_attention_heads"]
KV = cfg.get("num_key_value_heads") or NH
D = cfg.get("head_dim") or H // NH
shapes = {"q_proj": (NH * D, H), "k_proj": (KV * D, H), "v_proj": (KV * D, H), "o_proj": (H, NH * D),
          "gate_proj": (I, H), "up_proj": (I, H), "down_proj": (H, I)}
targets = a.targets.split(",")
rng = np.random.default_rng(a.seed)
tensors = {}
for layer in range(cfg["num_hidden_layers"]):
    for m in targets:
        out_f, in_f = shapes[m]
        prefix = f"base_model.model.model.layers.{layer}.{PATHS[m]}"
        tensors[prefix + ".lora_A.weight"] = (rng.uniform(-1, 1, (a.r, in_f)) / math.sqrt(in_f)).astype(np.float32)
        tensors[prefix + ".lora_B.weight"] = rng.normal(0, a.b_std, (out_f, a.r)).astype(np.float32)
os.makedirs(a.out, exist_ok=True)
config = {
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": a.model, "bias": "none",
    "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
    "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": a.alpha,
    "lora_bias": False, "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core",
    "modules_to_save": None, "peft_type": "LORA", "r": a.r, "rank_pattern": {}, "revision": None,
    "target_modules": targets, "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": a.rslora,
}
with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
    f.write(json.dumps(config, indent=2, sort_keys=True))
st.write(os.path.join(a.out, "adapter_model.safetensors"), tensors, metadata={"format": "pt"})
