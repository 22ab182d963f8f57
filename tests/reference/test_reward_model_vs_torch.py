#!/usr/bin/env python3
"""baimo's reward models against PyTorch (float64). transformers is not installed here, so the
reference is torch_reference_model.py's trunk with transformers' sequence-classification head
written out: reward = score.weight . norm(h)[last token] (Qwen2ForSequenceClassification /
LlamaForSequenceClassification pick the last non-pad token; here every sequence's last token by its
length). For two configs (Qwen2 with GQA, q/k/v bias and tied embeddings; Llama with attention_bias
and an untied head in the LM), `baimo init` + `baimo rm init` make the reward-model directory, whose
config.json and tensor names must be transformers' layout; then, with random weights written in,
`baimo rm grad` runs one Bradley-Terry loss -mean log sigmoid(r+ - r-) over fixed pairs of
different lengths: the rewards, the loss and the gradient of every parameter (the score head and
every trunk matrix) must match torch to a relative error max|baimo - torch| / max|torch| <= 1e-4.

Usage: /usr/bin/python3 test_reward_model_vs_torch.py path/to/baimo"""
import json
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
CONFIGS = {
    "qwen2_gqa_bias_tied": {
        "model_type": "qwen2", "vocab_size": 101, "hidden_size": 48, "intermediate_size": 80,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
        "eos_token_id": 7,
    },
    "llama_allbias_untied": {
        "model_type": "llama", "vocab_size": 97, "hidden_size": 40, "intermediate_size": 72,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "initializer_range": 0.1, "tie_word_embeddings": False, "attention_bias": True, "hidden_act": "silu",
    },
}
ARCH = {"qwen2": "Qwen2ForSequenceClassification", "llama": "LlamaForSequenceClassification"}

failures = []


def check(what, got, want):
    return relative_check(failures, what, got, want, TOL)


def torch_rewards(cfg, weights, ids, lengths):
    """The trunk's final-normed hidden states through the reference (an identity lm_head turns its
    logits into them), then transformers' score head at each sequence's last token."""
    C = cfg["hidden_size"]
    trunk = {k: v for k, v in weights.items() if k != "score.weight"}
    trunk["lm_head.weight"] = np.eye(C)
    ref = Reference(dict(cfg, tie_word_embeddings=False), trunk)
    score = torch.tensor(weights["score.weight"], dtype=torch.float64, requires_grad=True)
    h = ref.logits(torch.tensor(ids))  # (B, T, C)
    last = h[torch.arange(len(lengths)), torch.tensor(lengths) - 1]  # (B, C)
    return ref, score, F.linear(last, score).squeeze(-1)  # (B)


def run_config(tag, cfg, workdir):
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    lm_dir, rm_dir = os.path.join(workdir, "lm"), os.path.join(workdir, "rm")
    subprocess.run([BAIMO, "init", "--config", cfg_path, "--out", lm_dir, "--seed", "7"], check=True,
                   capture_output=True)
    subprocess.run([BAIMO, "rm", "init", "--model", lm_dir, "--out", rm_dir, "--seed", "3"], check=True,
                   capture_output=True)
    # transformers' sequence-classification checkpoint layout.
    with open(os.path.join(rm_dir, "config.json")) as f:
        rc = json.load(f)
    want = {"architectures": [ARCH[cfg["model_type"]]], "num_labels": 1, "id2label": {"0": "LABEL_0"},
            "label2id": {"LABEL_0": 0}, "pad_token_id": cfg.get("eos_token_id", 0)}
    for k, v in want.items():
        if rc.get(k) != v:
            failures.append(f"{tag}: config.json {k} = {rc.get(k)!r}, expected {v!r}")
    weights = st.read(os.path.join(rm_dir, "model.safetensors"))
    if "lm_head.weight" in weights or weights["score.weight"].shape != (1, cfg["hidden_size"]):
        failures.append(f"{tag}: expected score.weight (1, hidden) and no lm_head.weight, got "
                        f"{sorted(k for k in weights if not k.startswith('model.'))}")
    score_std = float(np.std(weights["score.weight"]))
    if not 0.5 * cfg["initializer_range"] < score_std < 1.5 * cfg["initializer_range"]:
        failures.append(f"{tag}: score.weight std {score_std:.3g}, expected ~ initializer_range")
    # Random weights of a useful size, written back.
    rng = np.random.default_rng(13)
    for k, w in weights.items():
        base = 1.0 if k.endswith("norm.weight") else 0.0
        scale = 0.5 if k == "score.weight" else 0.2 if base else 0.1
        weights[k] = (base + rng.normal(0.0, scale, w.shape)).astype(np.float32)
    st.write(os.path.join(rm_dir, "model.safetensors"), weights)

    P, T, V = 3, 13, cfg["vocab_size"]
    sides = {}
    for side in ("chosen", "rejected"):
        lengths = rng.integers(2, T + 1, size=P)
        lengths[0] = T
        ids = rng.integers(0, V, size=(P, T))
        sides[side] = (ids, lengths)
    pairs = os.path.join(workdir, "pairs.safetensors")
    st.write(pairs, {"chosen_ids": sides["chosen"][0].astype(np.int64), "chosen_len": sides["chosen"][1].astype(np.int64),
                     "rejected_ids": sides["rejected"][0].astype(np.int64),
                     "rejected_len": sides["rejected"][1].astype(np.int64)})
    dump = os.path.join(workdir, "dump")
    r = subprocess.run([BAIMO, "rm", "grad", "--model", rm_dir, "--pairs", pairs, "--dump-dir", dump],
                       capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    if r.returncode != 0:
        failures.append(f"{tag}: baimo rm grad failed: {r.stderr.strip()}")
        return
    got_out = st.read(os.path.join(dump, "outputs.safetensors"))
    got_grads = st.read(os.path.join(dump, "grads.safetensors"))

    # One torch model for both sides (shared parameters), as baimo's one Transformer.
    ref_c, score, rc_t = torch_rewards(cfg, weights, *sides["chosen"])
    ref_r = Reference.__new__(Reference)
    ref_r.__dict__.update(ref_c.__dict__)
    last_r = ref_r.logits(torch.tensor(sides["rejected"][0]))[torch.arange(P), torch.tensor(sides["rejected"][1]) - 1]
    rr_t = F.linear(last_r, score).squeeze(-1)
    loss = -F.logsigmoid(rc_t - rr_t).mean()
    loss.backward()
    errs = [check(f"{tag}: chosen rewards", got_out["chosen_rewards"], rc_t.detach().numpy()),
            check(f"{tag}: rejected rewards", got_out["rejected_rewards"], rr_t.detach().numpy()),
            check(f"{tag}: loss", got_out["loss"], [loss.item()])]
    errs.append(check(f"{tag}: grad score.weight", got_grads["score.weight"], score.grad.numpy()))
    for name, p in ref_c.params.items():
        if name == "lm_head.weight":
            continue
        errs.append(check(f"{tag}: grad {name}", got_grads[name], p.grad.numpy()))
    if set(got_grads) != set(weights):
        failures.append(f"{tag}: gradient names {sorted(set(got_grads) ^ set(weights))} differ")
    print(f"{tag}: rewards {got_out['chosen_rewards']} / {got_out['rejected_rewards']}, "
          f"loss {float(got_out['loss'][0]):.6f}, max relative error {max(errs):.2e}")

    # A causal-LM command on the reward model, and the reward command on the LM: clear errors.
    r = subprocess.run([BAIMO, "generate", "--model", rm_dir, "--prompt", "x", "--max-tokens", "1"],
                       capture_output=True, text=True)
    if r.returncode != 1 or "is a reward model (" not in r.stderr:
        failures.append(f"{tag}: generate on a reward model: rc {r.returncode}, {r.stderr.strip()}")
    r = subprocess.run([BAIMO, "rm", "grad", "--model", lm_dir, "--pairs", pairs, "--dump-dir", dump],
                       capture_output=True, text=True)
    if r.returncode != 1 or "has no score head" not in r.stderr:
        failures.append(f"{tag}: rm grad on a causal LM: rc {r.returncode}, {r.stderr.strip()}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for tag, cfg in CONFIGS.items():
            d = os.path.join(tmp, tag)
            os.makedirs(d)
            run_config(tag, cfg, d)
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("reward model vs torch: ok")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    main()
