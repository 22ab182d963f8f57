#!/usr/bin/env python3
"""Packed rows (several documents per row) in baimo against PyTorch and against baimo's own unpacked run.

Two rows of T = 80 tokens each hold several documents (lengths crossing baimo's 64-token attention
blocks, a one-token document, a pad tail in a segment of its own with targets -100), with position ids
restarting at 0 in every document and segment ids numbering the documents. `baimo train-step` reads
them from the batch file (position_ids, segment_ids) and dumps the logits, the loss and the gradients
of one step. They must match torch_reference_model.py (float64, RoPE at the given positions, block-
diagonal causal mask) to a relative error max|baimo - torch| / max|torch| <= 1e-4, and the same
documents run unpacked (one per row, padded at the end) must give baimo the same loss, gradients and
logits. A batch with bad packing tensors is a clear error naming the file and the tensor.

Usage: /usr/bin/python3 test_packed_vs_torch.py path/to/baimo"""
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
CONFIGS = {
    "qwen2_gqa_bias_tied": {
        "model_type": "qwen2", "vocab_size": 101, "hidden_size": 48, "intermediate_size": 80,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-6,
        "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
    },
    "llama_mha_untied": {
        "model_type": "llama", "vocab_size": 97, "hidden_size": 64, "intermediate_size": 72,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
    },
}
T = 80
ROWS = [[30, 41, 9], [64, 1, 10]]  # document lengths per row; the rest of a row is pad tail
PAD_ID = 3

failures = []


def check(what, got, want, tol=TOL):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        failures.append(f"{what}: shape {got.shape} != {want.shape}")
        return 0.0
    err = float(np.max(np.abs(got - want))) / max(float(np.max(np.abs(want))), 1e-30)
    if not err <= tol:
        failures.append(f"{what}: relative error {err:.3g} > {tol}")
    return err


def make_batches(rng, V):
    """The packed batch (2, T) and the same documents unpacked (one per row, padded at the end)."""
    docs = []  # (ids, targets) per document
    for row in ROWS:
        for n in row:
            seq = rng.integers(0, V, n + 1)
            tg = seq[1:].copy()
            tg[: min(2, n - 1)] = -100  # a prompt, not trained on (none for a one-token document)
            docs.append((seq[:-1], tg))
    packed = {k: np.zeros((len(ROWS), T), np.int64) for k in ("input_ids", "targets", "position_ids", "segment_ids")}
    d = 0
    for r, row in enumerate(ROWS):
        t = 0
        for seg, n in enumerate(row):
            ids, tg = docs[d]
            d += 1
            packed["input_ids"][r, t:t + n] = ids
            packed["targets"][r, t:t + n] = tg
            packed["position_ids"][r, t:t + n] = np.arange(n)
            packed["segment_ids"][r, t:t + n] = seg
            t += n
        pad = T - t  # the tail: its own segment, nothing to learn
        packed["input_ids"][r, t:] = PAD_ID
        packed["targets"][r, t:] = -100
        packed["position_ids"][r, t:] = np.arange(pad)
        packed["segment_ids"][r, t:] = len(row)
    L = max(len(ids) for ids, _ in docs)
    unpacked = {"input_ids": np.full((len(docs), L), PAD_ID, np.int64), "targets": np.full((len(docs), L), -100, np.int64)}
    for i, (ids, tg) in enumerate(docs):
        unpacked["input_ids"][i, :len(ids)] = ids
        unpacked["targets"][i, :len(tg)] = tg
    return packed, unpacked


def train_step(model_dir, batch_path, dump):
    subprocess.run([BAIMO, "train-step", "--model", model_dir, "--batch", batch_path, "--steps", "1",
                    "--dump-dir", dump], check=True, env=dict(os.environ, OMP_NUM_THREADS="2"),
                   stdout=subprocess.DEVNULL)
    return st.read(os.path.join(dump, "outputs.safetensors")), st.read(os.path.join(dump, "grads.safetensors"))


def check_bad_batches(model_dir, workdir, packed):
    """Packing tensors baimo cannot use are a clear error (exit 1, naming the file and the tensor)."""
    decreasing = packed["segment_ids"].copy()
    decreasing[0, 40] = 0  # back from document 1 to document 0
    far = packed["position_ids"].copy()
    far[1, 5] = 64  # max_position_embeddings
    cases = {
        "segment_ids must be non-decreasing": dict(packed, segment_ids=decreasing),
        "position_ids[1, 5] = 64": dict(packed, position_ids=far),
        "\"position_ids\" must have the shape": dict(packed, position_ids=packed["position_ids"][:, :10].copy()),
        "\"segment_ids\" must have the shape": dict(packed, segment_ids=packed["segment_ids"][:1].copy()),
        # Without position ids a row is limited to max_position_embeddings tokens, as before.
        "max_position_embeddings": {k: v for k, v in packed.items() if k != "position_ids"},
    }
    for needle, tensors in cases.items():
        path = os.path.join(workdir, "bad.safetensors")
        st.write(path, tensors)
        r = subprocess.run([BAIMO, "train-step", "--model", model_dir, "--batch", path], capture_output=True, text=True)
        if r.returncode != 1 or path not in r.stderr or needle not in r.stderr:
            failures.append(f"bad batch ({needle}): exit {r.returncode}, stderr {r.stderr.strip()!r}")


def run(name, cfg, workdir):
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    model_dir = os.path.join(workdir, "model")
    subprocess.run([BAIMO, "init", "--config", cfg_path, "--out", model_dir, "--seed", "7"], check=True,
                   stdout=subprocess.DEVNULL)
    weights = st.read(os.path.join(model_dir, "model.safetensors"))
    rng = np.random.default_rng(13)
    for k, w in weights.items():
        base = 1.0 if k.endswith("norm.weight") else 0.0
        weights[k] = (base + rng.normal(0.0, 0.2 if base else 0.1, w.shape)).astype(np.float32)
    st.write(os.path.join(model_dir, "model.safetensors"), weights)

    packed, unpacked = make_batches(rng, cfg["vocab_size"])
    packed_path, unpacked_path = os.path.join(workdir, "packed.safetensors"), os.path.join(workdir, "unpacked.safetensors")
    st.write(packed_path, packed)
    st.write(unpacked_path, unpacked)
    got_out, got_grads = train_step(model_dir, packed_path, os.path.join(workdir, "dump_packed"))
    sep_out, sep_grads = train_step(model_dir, unpacked_path, os.path.join(workdir, "dump_unpacked"))

    ref = Reference(cfg, weights)
    t = {k: torch.from_numpy(v) for k, v in packed.items()}
    logits, loss = ref.loss(t["input_ids"], t["targets"], t["position_ids"], t["segment_ids"])
    loss.backward()
    errs = {"logits": check(f"{name}: logits", got_out["logits"], logits.detach().numpy()),
            "loss": check(f"{name}: loss", got_out["loss"][0], loss.item())}
    for n in ref.param_names():
        if n not in got_grads:
            failures.append(f"{name}: no gradient for {n}")
            continue
        errs["grad " + n] = check(f"{name}: grad {n}", got_grads[n], ref.params[n].grad.numpy())

    # baimo unpacked: same loss and gradients; each document's logits where the packed row holds them.
    errs["unpacked loss"] = check(f"{name}: unpacked loss", got_out["loss"][0], sep_out["loss"][0])
    for n, g in sep_grads.items():
        errs["unpacked grad " + n] = check(f"{name}: unpacked grad {n}", got_grads[n], g)
    want, got = [], []
    d = 0
    for r, row in enumerate(ROWS):
        start = 0
        for n in row:
            want.append(sep_out["logits"][d, :n])
            got.append(got_out["logits"][r, start:start + n])
            start += n
            d += 1
    errs["unpacked logits"] = check(f"{name}: unpacked logits", np.concatenate(got), np.concatenate(want))
    check_bad_batches(model_dir, workdir, packed)
    worst = max(errs, key=errs.get)
    print(f"{name}: {len(errs)} comparisons, loss {got_out['loss'][0]:.6f}, "
          f"worst relative error {errs[worst]:.2e} ({worst})")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="baimo_packed_") as d:
            run(name, cfg, d)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all comparisons within", TOL)
