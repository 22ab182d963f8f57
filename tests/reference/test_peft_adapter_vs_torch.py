#!/usr/bin/env python3
"""baimo reads PEFT LoRA adapters as PEFT writes them, and merges them as PyTorch computes them.

For each config (Qwen2 with all seven target modules; Llama with q/v/down only and rslora; one with
F16 adapter tensors): `baimo init` writes a tiny model directory whose weights are then replaced by
random values; this script writes the adapter directory PEFT's save_pretrained would write
(adapter_config.json with PEFT's fields, sorted and indented as PEFT does; adapter_model.safetensors
with base_model.model.model.layers.N.<module>.lora_{A,B}.weight, metadata {"format": "pt"}, random
non-zero A and B). Then:
  - `baimo lora merge` must give base + scaling * B @ A for every targeted matrix (scaling alpha / r,
    or alpha / sqrt(r) with use_rslora) and leave every other tensor as it was;
  - `baimo train-step --dump-dir` on the merged model dumps logits that must equal PyTorch's logits
    of the base model with LoRA as separate modules (y = x W^T + b + scaling * (x A^T) B^T), float64,
    relative error max|baimo - torch| / max|torch| <= 1e-4;
  - bad adapters (a DoRA config, a missing tensor, a wrong rank) fail with exit 1 naming the file.

Usage: /usr/bin/python3 test_peft_adapter_vs_torch.py path/to/baimo"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from ref_checks import relative_check  # noqa: E402
from torch_reference_model import Reference  # noqa: E402

TOL = 1e-4
MERGE_TOL = 1e-6

CONFIGS = {
    "qwen2_all_targets": ({
        "model_type": "qwen2", "vocab_size": 101, "hidden_size": 48, "intermediate_size": 80,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
    }, {"r": 8, "alpha": 16, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "rslora": False, "f16": False}),
    "llama_qv_down_rslora": ({
        "model_type": "llama", "vocab_size": 97, "hidden_size": 40, "intermediate_size": 72,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
    }, {"r": 4, "alpha": 32, "targets": ["q_proj", "v_proj", "down_proj"], "rslora": True, "f16": False}),
    "llama_f16_adapter": ({
        "model_type": "llama", "vocab_size": 90, "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": True, "attention_bias": False, "hidden_act": "silu",
    }, {"r": 2, "alpha": 8, "targets": ["o_proj", "gate_proj", "up_proj"], "rslora": False, "f16": True}),
}
MODULE_PATH = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
               "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
               "down_proj": "mlp.down_proj"}

failures = []


def check(what, got, want, tol=TOL):
    return relative_check(failures, what, got, want, tol)


def peft_config(lc, base_path):
    """adapter_config.json as PEFT's LoraConfig.save_pretrained writes it (json.dumps(indent=2, sort_keys=True))."""
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base_path, "bias": "none",
        "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": lc["alpha"], "lora_bias": False,
        "lora_dropout": 0.05, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "r": lc["r"], "rank_pattern": {}, "revision": None,
        "target_modules": sorted(lc["targets"]), "task_type": "CAUSAL_LM", "use_dora": False,
        "use_rslora": lc["rslora"],
    }


def write_adapter(d, cfg, lc, base_path, rng):
    """Returns {hf base name: (A, B)} as float32 (the values baimo reads, F16-rounded when stored so)."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        f.write(json.dumps(peft_config(lc, base_path), indent=2, sort_keys=True))
    H = cfg["hidden_size"]
    D = cfg.get("head_dim") or H // cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    shapes = {"q_proj": (cfg["num_attention_heads"] * D, H), "k_proj": (KV * D, H), "v_proj": (KV * D, H),
              "o_proj": (H, cfg["num_attention_heads"] * D), "gate_proj": (cfg["intermediate_size"], H),
              "up_proj": (cfg["intermediate_size"], H), "down_proj": (H, cfg["intermediate_size"])}
    tensors, pairs = {}, {}
    r = lc["r"]
    for layer in range(cfg["num_hidden_layers"]):
        for m in lc["targets"]:
            out_f, in_f = shapes[m]
            a = rng.uniform(-1, 1, (r, in_f)) / math.sqrt(in_f)
            b = rng.normal(0.0, 0.05, (out_f, r))
            dt = np.float16 if lc["f16"] else np.float32
            a, b = a.astype(dt), b.astype(dt)
            prefix = f"base_model.model.model.layers.{layer}.{MODULE_PATH[m]}"
            tensors[prefix + ".lora_A.weight"] = a
            tensors[prefix + ".lora_B.weight"] = b
            pairs[f"model.layers.{layer}.{MODULE_PATH[m]}"] = (a.astype(np.float32), b.astype(np.float32))
    st.write(os.path.join(d, "adapter_model.safetensors"), tensors, metadata={"format": "pt"})
    return pairs


class LoraReference(Reference):
    """The reference model with LoRA as separate low-rank modules beside the frozen base weights."""

    def __init__(self, cfg, weights, pairs, scaling):
        super().__init__(cfg, weights)
        self.lora = {k: (torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
                     for k, (a, b) in pairs.items()}
        self.scaling = scaling

    def _lin(self, x, name):
        y = super()._lin(x, name)
        if name in self.lora:
            a, b = self.lora[name]
            y = y + self.scaling * F.linear(F.linear(x, a), b)
        return y


def expect_failure(args, needle, what):
    r = subprocess.run([BAIMO] + args, capture_output=True, text=True)
    if r.returncode != 1 or needle not in r.stderr:
        failures.append(f"{what}: exit {r.returncode}, stderr {r.stderr.strip()!r} (expected exit 1 naming {needle!r})")


def run(name, cfg, lc, workdir):
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    model_dir = os.path.join(workdir, "model")
    subprocess.run([BAIMO, "init", "--config", cfg_path, "--out", model_dir, "--seed", "7"], check=True,
                   capture_output=True)
    weights = st.read(os.path.join(model_dir, "model.safetensors"))
    rng = np.random.default_rng(23)
    for k, w in weights.items():
        base = 1.0 if k.endswith("norm.weight") else 0.0
        weights[k] = (base + rng.normal(0.0, 0.2 if base else 0.1, w.shape)).astype(np.float32)
    st.write(os.path.join(model_dir, "model.safetensors"), weights)

    adapter = os.path.join(workdir, "adapter")
    pairs = write_adapter(adapter, cfg, lc, model_dir, rng)
    scaling = lc["alpha"] / (math.sqrt(lc["r"]) if lc["rslora"] else lc["r"])

    merged = os.path.join(workdir, "merged")
    subprocess.run([BAIMO, "lora", "merge", "--model", model_dir, "--adapter", adapter, "--out", merged],
                   check=True, capture_output=True)
    got = st.read(os.path.join(merged, "model.safetensors"))
    worst_merge = 0.0
    for k, w in weights.items():
        if k not in got:
            failures.append(f"{name}: {k} missing from the merged model")
            continue
        want = w.astype(np.float64)
        key = k[:-len(".weight")]
        if key in pairs:
            a, b = pairs[key]
            want = want + scaling * (b.astype(np.float64) @ a.astype(np.float64))
            worst_merge = max(worst_merge, check(f"{name}: merged {k}", got[k], want, MERGE_TOL))
        elif not np.array_equal(got[k], w):
            failures.append(f"{name}: {k} is not targeted but changed in the merge")
    if set(got) != set(weights):
        failures.append(f"{name}: merged tensors differ: {sorted(set(got) ^ set(weights))}")

    B, T, V = 2, 13, cfg["vocab_size"]
    ids = rng.integers(0, V, (B, T + 1))
    inputs, targets = ids[:, :-1].copy(), ids[:, 1:].copy()
    batch = os.path.join(workdir, "batch.safetensors")
    st.write(batch, {"input_ids": inputs.astype(np.int64), "targets": targets.astype(np.int64)})
    dump = os.path.join(workdir, "dump")
    subprocess.run([BAIMO, "train-step", "--model", merged, "--batch", batch, "--steps", "1", "--lr", "0",
                    "--dump-dir", dump], check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    baimo_logits = st.read(os.path.join(dump, "outputs.safetensors"))["logits"]
    ref = LoraReference(cfg, weights, pairs, scaling)
    with torch.no_grad():
        torch_logits = ref.logits(torch.from_numpy(inputs)).numpy()
        base_logits = Reference(cfg, weights).logits(torch.from_numpy(inputs)).numpy()
    err = check(f"{name}: logits with LoRA", baimo_logits, torch_logits)
    effect = float(np.max(np.abs(torch_logits - base_logits)) / np.max(np.abs(base_logits)))
    if effect < 1e-2:
        failures.append(f"{name}: the adapter barely changes the logits ({effect:.2g}): the test could not fail")

    # Bad adapters: exit 1, a message naming the file, nothing written.
    bad_out = os.path.join(workdir, "bad_out")
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        good_cfg = json.load(f)
    dora = dict(good_cfg, use_dora=True)
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump(dora, f)
    expect_failure(["lora", "merge", "--model", model_dir, "--adapter", adapter, "--out", bad_out], "use_dora",
                   f"{name}: DoRA adapter")
    wrong_r = dict(good_cfg, r=lc["r"] + 1)
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump(wrong_r, f)
    expect_failure(["lora", "merge", "--model", model_dir, "--adapter", adapter, "--out", bad_out],
                   "adapter_model.safetensors", f"{name}: wrong rank")
    if os.path.exists(bad_out):
        failures.append(f"{name}: a failed merge left {bad_out}")
    print(f"{name}: merge worst relative error {worst_merge:.2e}, logits relative error {err:.2e} "
          f"(adapter effect on logits {effect:.2g})")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    for name, (cfg, lc) in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="baimo_peft_ref_") as d:
            run(name, cfg, lc, d)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all comparisons within", TOL)
