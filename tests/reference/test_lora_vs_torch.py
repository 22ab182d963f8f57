#!/usr/bin/env python3
"""baimo's LoRA training against PyTorch (float64): a tiny model with LoRA adapters on all seven
linear targets (q, k, v, o, gate, up, down), random non-zero A and B, the base frozen, masked
cross-entropy (some targets -100). The LoRA branch is written here as plain torch modules,
y = base(x) + scaling * (x A^T) B^T, on top of torch_reference_model.py. For two configs (Llama with
attention_bias and an untied head; Qwen2 with GQA, q/k/v bias and tied embeddings) and both scalings
(alpha / r and rslora's alpha / sqrt(r)), `baimo train-step --lora-adapter` runs two steps; the
logits, the first loss, the gradient of every A and B (under PEFT names) and the second step's loss
(after one AdamW step on the adapter only) must match torch to a relative error
max|baimo - torch| / max|torch| <= 1e-4. Bad adapter files are clear errors.
With trainable token rows (PEFT trainable_token_indices, `--lora-tokens`): the rows replace their
embedding rows and, tied, the head's (torch: PEFT's index_copy of the rows into the weight), their
gradient (embed_tokens.token_adapter.trainable_tokens_delta) and the step after (AdamW without decay
on the rows) must match as well.

Usage: /usr/bin/python3 test_lora_vs_torch.py path/to/baimo"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from ref_checks import relative_check  # noqa: E402
from torch_reference_model import Reference  # noqa: E402

TOL = 1e-4
R, ALPHA = 4, 8.0
LR, BETA1, BETA2, EPS, WD = 1e-2, 0.9, 0.95, 1e-6, 0.1
TARGETS = [("self_attn", "q"), ("self_attn", "k"), ("self_attn", "v"), ("self_attn", "o"),
           ("mlp", "gate"), ("mlp", "up"), ("mlp", "down")]

CONFIGS = {
    "llama_allbias_untied": {
        "model_type": "llama", "vocab_size": 97, "hidden_size": 40, "intermediate_size": 72,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": True, "hidden_act": "silu",
    },
    "qwen2_gqa_bias_tied": {
        "model_type": "qwen2", "vocab_size": 101, "hidden_size": 48, "intermediate_size": 80,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
        "sliding_window": 32768, "use_sliding_window": False,
    },
}

failures = []


def check(what, got, want, tol=TOL):
    return relative_check(failures, what, got, want, tol)


class LoraBranch(torch.nn.Module):
    """PEFT's LoRA branch without dropout: scaling * (x A^T) B^T."""

    def __init__(self, a, b, scaling):
        super().__init__()
        self.lora_A = torch.nn.Parameter(torch.tensor(a, dtype=torch.float64))
        self.lora_B = torch.nn.Parameter(torch.tensor(b, dtype=torch.float64))
        self.scaling = scaling

    def forward(self, x):
        return self.scaling * ((x @ self.lora_A.t()) @ self.lora_B.t())


TOKEN_ROWS = "base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta"


class LoraReference(Reference):
    """The frozen reference model with a LoRA branch added to every adapted linear layer and, when the
    adapter has token rows, PEFT's TrainableTokensLayer: W' = W.index_copy(0, ids, rows) in the
    embedding and (tied) the head."""

    def __init__(self, cfg, weights, adapter, scaling, token_ids=None):
        super().__init__(cfg, weights)
        self.token_ids = torch.tensor(token_ids) if token_ids else None
        self.token_rows = (torch.nn.Parameter(torch.tensor(adapter[TOKEN_ROWS], dtype=torch.float64))
                           if token_ids else None)
        for p in self.params.values():
            p.requires_grad_(False)
        self.branches = {}
        for name in adapter:
            if name.endswith(".lora_A.weight"):
                module = name[len("base_model.model."):-len(".lora_A.weight")]
                b_name = name.replace(".lora_A.", ".lora_B.")
                self.branches[module] = LoraBranch(adapter[name], adapter[b_name], scaling)

    def logits(self, ids, positions=None, segments=None):
        if self.token_rows is None:
            return super().logits(ids, positions, segments)
        base = self.params["model.embed_tokens.weight"]
        self.params["model.embed_tokens.weight"] = base.index_copy(0, self.token_ids, self.token_rows)
        try:
            return super().logits(ids, positions, segments)
        finally:
            self.params["model.embed_tokens.weight"] = base

    def _lin(self, x, name):
        y = super()._lin(x, name)
        if name in self.branches:
            y = y + self.branches[name](x)
        return y


def adapter_tensors(cfg, rng):
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        dims = {"q": (cfg["num_attention_heads"] * head_dim, cfg["hidden_size"]),
                "k": (cfg["num_key_value_heads"] * head_dim, cfg["hidden_size"]),
                "v": (cfg["num_key_value_heads"] * head_dim, cfg["hidden_size"]),
                "o": (cfg["hidden_size"], cfg["num_attention_heads"] * head_dim),
                "gate": (cfg["intermediate_size"], cfg["hidden_size"]),
                "up": (cfg["intermediate_size"], cfg["hidden_size"]),
                "down": (cfg["hidden_size"], cfg["intermediate_size"])}
        for block, t in TARGETS:
            fan_out, fan_in = dims[t]
            p = f"base_model.model.model.layers.{i}.{block}.{t}_proj"
            out[p + ".lora_A.weight"] = rng.uniform(-1, 1, (R, fan_in)).astype(np.float32) / np.sqrt(fan_in)
            out[p + ".lora_B.weight"] = rng.normal(0.0, 0.05, (fan_out, R)).astype(np.float32)
    return out


def train_step(model_dir, tok_path, adapter_path, extra, dump=None, steps=2):
    cmd = [BAIMO, "train-step", "--model", model_dir, "--batch", tok_path, "--steps", str(steps),
           "--lr", str(LR), "--beta1", str(BETA1), "--beta2", str(BETA2), "--eps", str(EPS),
           "--weight-decay", str(WD), "--lora-adapter", adapter_path, "--lora-r", str(R),
           "--lora-alpha", str(ALPHA), "--lora-targets", "q,k,v,o,gate,up,down"] + extra
    if dump:
        cmd += ["--dump-dir", dump]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))


def check_bad_adapters(name, model_dir, tok_path, adapter, workdir):
    """An adapter file baimo cannot use is a clear error (exit 1, naming the file and the tensor)."""
    a0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    missing = dict(adapter)
    del missing[a0]
    wrong_shape = dict(adapter)
    wrong_shape[a0] = np.zeros((R + 1, adapter[a0].shape[1]), np.float32)
    extra = dict(adapter)
    extra["base_model.model.model.layers.9.mlp.up_proj.lora_A.weight"] = adapter[a0]
    for needle, tensors in {"missing": missing, "shape": wrong_shape, "extra": extra}.items():
        path = os.path.join(workdir, f"bad_{needle}.safetensors")
        st.write(path, tensors)
        r = train_step(model_dir, tok_path, path, [], steps=1)
        if r.returncode != 1 or path not in r.stderr or "lora_A" not in r.stderr:
            failures.append(f"{name}: bad adapter ({needle}): exit {r.returncode}, stderr {r.stderr.strip()!r}")


def random_model(baimo, cfg, workdir, rng):
    """A model directory of cfg under workdir/model with random weights drawn from rng (norms near 1);
    returns (model_dir, weights)."""
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    model_dir = os.path.join(workdir, "model")
    subprocess.run([baimo, "init", "--config", cfg_path, "--out", model_dir, "--seed", "7"], check=True)
    weights = st.read(os.path.join(model_dir, "model.safetensors"))
    for k, w in weights.items():
        base = 1.0 if k.endswith("norm.weight") else 0.0
        weights[k] = (base + rng.normal(0.0, 0.2 if base else 0.1, w.shape)).astype(np.float32)
    st.write(os.path.join(model_dir, "model.safetensors"), weights)
    return model_dir, weights


def run(name, cfg, workdir):
    rng = np.random.default_rng(13)
    model_dir, weights = random_model(BAIMO, cfg, workdir, rng)
    adapter = adapter_tensors(cfg, rng)
    adapter_path = os.path.join(workdir, "adapter.safetensors")
    st.write(adapter_path, adapter)

    B, T, V = 3, 17, cfg["vocab_size"]
    ids = rng.integers(0, V, (B, T + 1))
    inputs, targets = ids[:, :-1].copy(), ids[:, 1:].copy()
    targets[0, :5] = -100  # a prompt
    targets[1, 11:] = -100
    tok_path = os.path.join(workdir, "batch.safetensors")
    st.write(tok_path, {"input_ids": inputs.astype(np.int64), "targets": targets.astype(np.int64)})

    # Token rows: the last two ids (the "template markers") and a common one, as inputs and targets.
    token_ids = [V - 1, V - 2, 3]
    tok_inputs, tok_targets = inputs.copy(), targets.copy()
    tok_inputs[0, 6], tok_inputs[1, 2], tok_inputs[2, 9] = V - 1, V - 2, V - 1
    tok_targets[0, 7], tok_targets[1, 3], tok_targets[2, 15] = V - 2, V - 1, 3
    tok_batch = os.path.join(workdir, "batch_tokens.safetensors")
    st.write(tok_batch, {"input_ids": tok_inputs.astype(np.int64), "targets": tok_targets.astype(np.int64)})
    tok_adapter = dict(adapter)
    embed = weights["model.embed_tokens.weight"]
    tok_adapter[TOKEN_ROWS] = (embed[token_ids] + rng.normal(0.0, 0.1, (3, embed.shape[1]))).astype(np.float32)
    tok_adapter_path = os.path.join(workdir, "adapter_tokens.safetensors")
    st.write(tok_adapter_path, tok_adapter)

    for rslora, tokens in ((False, False), (True, False), (False, True)):
        tag = f"{name} {'rslora' if rslora else 'alpha/r'}{' tokens' if tokens else ''}"
        scaling = ALPHA / np.sqrt(R) if rslora else ALPHA / R
        dump = os.path.join(workdir, f"dump_{rslora}_{tokens}")
        extra = (["--rslora"] if rslora else []) + (["--lora-tokens", ",".join(map(str, token_ids))] if tokens else [])
        r = train_step(model_dir, tok_batch if tokens else tok_path, tok_adapter_path if tokens else adapter_path,
                       extra, dump)
        if r.returncode != 0:
            failures.append(f"{tag}: baimo train-step failed: {r.stderr.strip()}")
            continue
        got_out = st.read(os.path.join(dump, "outputs.safetensors"))
        got_grads = st.read(os.path.join(dump, "grads.safetensors"))

        ref = LoraReference(cfg, weights, tok_adapter if tokens else adapter, scaling, token_ids if tokens else None)
        names = sorted(adapter)
        branch_params = []
        for n in names:
            module = n[len("base_model.model."):].rsplit(".lora_", 1)[0]
            part = "lora_A" if ".lora_A." in n else "lora_B"
            branch_params.append(getattr(ref.branches[module], part))
        groups = [{"params": list(branch_params), "weight_decay": WD}]
        if tokens:  # baimo's lora_groups: the rows in a group without decay
            names.append(TOKEN_ROWS)
            branch_params.append(ref.token_rows)
            groups.append({"params": [ref.token_rows], "weight_decay": 0.0})
        opt = torch.optim.AdamW(groups, lr=LR, betas=(BETA1, BETA2), eps=EPS)
        ids_t = torch.from_numpy(tok_inputs if tokens else inputs)
        tgt_t = torch.from_numpy(tok_targets if tokens else targets)
        errs = {}
        for step in range(2):
            opt.zero_grad()
            logits, loss = ref.loss(ids_t, tgt_t)
            loss.backward()
            if step == 0:
                errs["logits"] = check(f"{tag}: logits", got_out["logits"], logits.detach().numpy())
                if set(got_grads) != set(names):
                    failures.append(f"{tag}: gradient names differ: extra {set(got_grads) - set(names)}, "
                                    f"missing {set(names) - set(got_grads)}")
                for n, p in zip(names, branch_params):
                    if n in got_grads:
                        errs["grad " + n] = check(f"{tag}: grad {n}", got_grads[n], p.grad.numpy())
                if any(p.grad is not None for p in ref.params.values()):
                    failures.append(f"{tag}: the torch base is not frozen")
            errs[f"loss step {step}"] = check(f"{tag}: loss step {step}", got_out["loss"][step], loss.item())
            opt.step()
        worst = max(errs, key=errs.get)
        print(f"{tag}: scaling {scaling:g}, {len(errs)} comparisons, loss {got_out['loss'][0]:.6f} -> "
              f"{got_out['loss'][1]:.6f}, worst relative error {errs[worst]:.2e} ({worst})")
    check_bad_adapters(name, model_dir, tok_path, adapter, workdir)


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="baimo_lora_ref_") as d:
            run(name, cfg, d)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all comparisons within", TOL)
