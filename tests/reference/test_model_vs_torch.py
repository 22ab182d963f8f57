#!/usr/bin/env python3
"""baimo's transformer against a plain-PyTorch Llama/Qwen2 (torch_reference_model.py, float64) on three
configs: Llama with full multi-head attention and an untied LM head; Qwen2 with grouped-query
attention, q/k/v bias and tied embeddings; Llama with attention_bias (q/k/v/o), GQA and an explicit
head_dim != hidden / heads, loaded from BF16.

For each: `baimo init` writes a model directory; its initialisation is checked (normal(0, range)
matrices, unit norms, zero biases); then every parameter is replaced by random values (so biases
and norm weights matter) and written back with an independent safetensors writer; `baimo
train-step` runs two steps of forward, backward and AdamW and dumps logits, losses, the first
step's gradients and the final weights. The same happens in PyTorch. Every tensor must agree to a
relative error max|baimo - torch| / max|torch| <= 1e-4. AdamW decays the weight matrices only
(baimo's default parameter groups), with the same lr, betas, eps and weight decay on both sides.

Usage: /usr/bin/python3 test_model_vs_torch.py path/to/baimo"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from torch_reference_model import Reference  # noqa: E402

TOL = 1e-4
# eps: Adam divides by sqrt(v) + eps, so for a gradient far below eps the update is lr * g / eps and
# float32 rounding in g (~1e-10 here) is amplified by lr / eps. Qwen2's k_proj bias has gradients
# near 1e-8 (the slowly rotating RoPE dimensions barely change the attention scores), so eps = 1e-8
# would compare rounding noise; 1e-6 keeps the comparison about the optimizer's arithmetic.
LR, BETA1, BETA2, EPS, WD = 1e-3, 0.9, 0.95, 1e-6, 0.1
STEPS = 2
UPDATE_TOL = 1e-2

CONFIGS = {
    "llama_mha_untied": {
        "model_type": "llama", "vocab_size": 97, "hidden_size": 40, "intermediate_size": 72,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
    },
    "qwen2_gqa_bias_tied": {
        "model_type": "qwen2", "vocab_size": 101, "hidden_size": 48, "intermediate_size": 80,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
        "sliding_window": 32768, "use_sliding_window": False,
    },
    # Llama's attention_bias (bias on q, k, v and o), head_dim wider than hidden / heads, and weights
    # handed to baimo as BF16 (so the bf16 -> f32 load is checked too).
    "llama_gqa_allbias_headdim_bf16": {
        "model_type": "llama", "vocab_size": 90, "hidden_size": 40, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 12,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": True, "hidden_act": "silu",
    },
}
BF16_INPUT = {"llama_gqa_allbias_headdim_bf16"}

failures = []


def check(what, got, want, tol=TOL):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        failures.append(f"{what}: shape {got.shape} != {want.shape}")
        return 0.0
    denom = max(float(np.max(np.abs(want))), 1e-30) if want.size else 1.0
    err = float(np.max(np.abs(got - want))) / denom if want.size else 0.0
    if not err <= tol:
        failures.append(f"{what}: relative error {err:.3g} > {tol}")
    return err


def check_init(name, cfg, weights):
    r = cfg["initializer_range"]
    for k, w in weights.items():
        if w.dtype != np.float32:
            failures.append(f"{name}: {k} stored as {w.dtype}, expected float32")
        if k.endswith("norm.weight"):
            if not np.all(w == 1):
                failures.append(f"{name}: {k} not initialised to ones")
        elif k.endswith(".bias"):
            if not np.all(w == 0):
                failures.append(f"{name}: {k} not initialised to zeros")
        elif abs(float(w.std()) / r - 1) > 0.1 or abs(float(w.mean())) > 0.1 * r:
            failures.append(f"{name}: {k} mean {w.mean():.3g} std {w.std():.3g}, expected normal(0, {r})")


def check_bad_batches(model_dir, workdir, V):
    """A batch file baimo cannot use is a clear error (exit 1, naming the file and the tensor)."""
    ok = np.zeros((2, 5), np.int64)
    cases = {
        "targets": {"input_ids": ok, "targets": np.full((2, 5), V, np.int64)},
        "input_ids": {"input_ids": np.full((2, 5), -1, np.int64), "targets": ok},
        "shape of": {"input_ids": ok, "targets": ok[:, :4].copy()},
        "missing tensor": {"input_ids": ok},
        "max_position_embeddings": {"input_ids": np.zeros((1, 65), np.int64), "targets": np.zeros((1, 65), np.int64)},
    }
    for needle, tensors in cases.items():
        path = os.path.join(workdir, "bad.safetensors")
        st.write(path, tensors)
        r = subprocess.run([BAIMO, "train-step", "--model", model_dir, "--batch", path],
                           capture_output=True, text=True)
        if r.returncode != 1 or path not in r.stderr or needle not in r.stderr:
            failures.append(f"bad batch ({needle}): exit {r.returncode}, stderr {r.stderr.strip()!r}")


def run(name, cfg, workdir):
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    model_dir = os.path.join(workdir, "model")
    subprocess.run([BAIMO, "init", "--config", cfg_path, "--out", model_dir, "--seed", "7"], check=True)
    weights = st.read(os.path.join(model_dir, "model.safetensors"))
    check_init(name, cfg, weights)

    # Random values everywhere (norms around 1, biases nonzero), written by our own writer.
    rng = np.random.default_rng(11)
    for k, w in weights.items():
        base = 1.0 if k.endswith("norm.weight") else 0.0
        weights[k] = (base + rng.normal(0.0, 0.2 if base else 0.1, w.shape)).astype(np.float32)
        if name in BF16_INPUT:
            weights[k] = st.from_bf16(st.to_bf16(weights[k]))  # the values baimo will read
    st.write(os.path.join(model_dir, "model.safetensors"), weights, bf16=name in BF16_INPUT)

    B, T, V = 3, 17, cfg["vocab_size"]
    ids = rng.integers(0, V, (B, T + 1))
    inputs, targets = ids[:, :-1].copy(), ids[:, 1:].copy()
    targets[0, :4] = -100  # ignored positions (a prompt, say)
    targets[2, 9] = -100
    tok_path = os.path.join(workdir, "batch.safetensors")
    st.write(tok_path, {"input_ids": inputs.astype(np.int64), "targets": targets.astype(np.int64)})

    dump, out = os.path.join(workdir, "dump"), os.path.join(workdir, "out")
    subprocess.run([BAIMO, "train-step", "--model", model_dir, "--batch", tok_path, "--steps", str(STEPS),
                    "--lr", str(LR), "--beta1", str(BETA1), "--beta2", str(BETA2), "--eps", str(EPS),
                    "--weight-decay", str(WD), "--dump-dir", dump, "--out", out], check=True,
                   env=dict(os.environ, OMP_NUM_THREADS="2"))
    got_out = st.read(os.path.join(dump, "outputs.safetensors"))
    got_grads = st.read(os.path.join(dump, "grads.safetensors"))
    got_weights = st.read(os.path.join(out, "model.safetensors"))

    before = {k: v.astype(np.float64) for k, v in weights.items()}
    ref = Reference(cfg, weights)
    names = ref.param_names()
    params = [ref.params[n] for n in names]
    # baimo's default groups: decay on the linear layers' weight matrices (and an untied lm_head),
    # none on the embedding, norms and biases.
    decayed = [p for n, p in zip(names, params) if n.endswith("proj.weight") or n == "lm_head.weight"]
    plain = [p for n, p in zip(names, params) if not (n.endswith("proj.weight") or n == "lm_head.weight")]
    opt = torch.optim.AdamW([{"params": decayed, "weight_decay": WD}, {"params": plain, "weight_decay": 0.0}],
                            lr=LR, betas=(BETA1, BETA2), eps=EPS)
    ids_t, tgt_t = torch.from_numpy(inputs), torch.from_numpy(targets)
    errs = {}
    for step in range(STEPS):
        opt.zero_grad()
        logits, loss = ref.loss(ids_t, tgt_t)
        loss.backward()
        if step == 0:
            errs["logits"] = check(f"{name}: logits", got_out["logits"], logits.detach().numpy())
            for n, p in zip(names, params):
                if n not in got_grads:
                    failures.append(f"{name}: no gradient for {n}")
                    continue
                errs["grad " + n] = check(f"{name}: grad {n}", got_grads[n], p.grad.numpy())
        errs[f"loss step {step}"] = check(f"{name}: loss step {step}", got_out["loss"][step], loss.item())
        opt.step()
    worst_update = 0.0
    for n, p in zip(names, params):
        if n not in got_weights:
            failures.append(f"{name}: {n} missing from the saved model")
            continue
        errs["weight " + n] = check(f"{name}: weight {n} after {STEPS} steps", got_weights[n], p.detach().numpy())
        # The update itself, a sharper test of the optimizer (looser bound: see EPS).
        upd = check(f"{name}: update of {n}", got_weights[n] - before[n], p.detach().numpy() - before[n], UPDATE_TOL)
        worst_update = max(worst_update, upd)
    check_bad_batches(model_dir, workdir, V)
    worst = max(errs, key=errs.get)
    print(f"{name}: {len(errs)} comparisons, loss {got_out['loss'][0]:.6f} -> {got_out['loss'][1]:.6f}, "
          f"worst relative error {errs[worst]:.2e} ({worst}), worst update error {worst_update:.2e}")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="baimo_ref_") as d:
            run(name, cfg, d)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all comparisons within", TOL)
