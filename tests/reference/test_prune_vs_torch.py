#!/usr/bin/env python3
"""`baimo prune` (compress/prune_model.h) against a straightforward PyTorch implementation of
magnitude pruning and of Wanda (Sun et al. 2023, as its reference code lib/prune.py prune_wanda does):
  score_ij = |W_ij| * ||X_j||_2  (magnitude: |W_ij|), compared within each output row;
  unstructured 50%: each row zeroes its int(cols * 0.5) lowest scores (torch.sort(stable=True));
  2:4: each group of 4 consecutive inputs of a row zeroes its 2 lowest scores;
  X = the inputs of each linear over the calibration tokens, layer by layer: the dense layer l runs
  on the calibration inputs (hooks gather q/k/v, o, gate/up and down inputs), its seven matrices are
  pruned, then the pruned layer l runs again to give layer l+1 its inputs.
The model: configs/tiny.json (4 layers, C = 128, GQA) with random weights and the shared base's
tokenizer; 4 calibration sequences of 32 tokens from one JSONL document, its ids from
`baimo tokenizer encode`. The torch forward is float64 (torch_reference_model.py's math).
Checks: magnitude masks and weights equal torch's exactly; Wanda's masks equal torch's except at
near-ties (a differing weight's score within 1e-4 of its row's / group's threshold: baimo's f32
activations vs torch's float64 norms), at most 0.1% of the weights; kept weights unchanged; every
other tensor (embeddings, norms, lm_head) unchanged.
Usage: /usr/bin/python3 test_prune_vs_torch.py path/to/baimo"""
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("BAIMO_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
BASE = os.path.join(SHARED, "models", "base-small-zh-en")
N_SEQ, SEQ = 4, 32
MATS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
INPUT_OF = {"self_attn.q_proj": "attn", "self_attn.k_proj": "attn", "self_attn.v_proj": "attn",
            "self_attn.o_proj": "o", "mlp.gate_proj": "mlp", "mlp.up_proj": "mlp", "mlp.down_proj": "down"}
failures = []
near_ties = []


def run(*args, stdin=None):
    r = subprocess.run([BAIMO, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"baimo {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def scores(w, scale):
    """float32 |W| * scale, one rounding, as baimo computes it."""
    s = w.abs()
    return s if scale is None else s * scale[None, :]


def pruned_mask(s, pattern):
    """True where pruned: the lowest scores of each row (50%) or of each group of 4 (2:4), lower index first on ties."""
    rows, cols = s.shape
    if pattern == "2:4":
        g = s.reshape(rows, cols // 4, 4)
        idx = torch.sort(g, dim=-1, stable=True)[1][..., :2]
        return torch.zeros_like(g, dtype=torch.bool).scatter_(-1, idx, True).reshape(rows, cols)
    idx = torch.sort(s, dim=-1, stable=True)[1][:, :int(cols * 0.5)]
    return torch.zeros_like(s, dtype=torch.bool).scatter_(1, idx, True)


def thresholds(s, pattern):
    """The score at the boundary of each comparison group (the largest pruned score), broadcast to s's shape."""
    rows, cols = s.shape
    if pattern == "2:4":
        g = torch.sort(s.reshape(rows, cols // 4, 4), dim=-1)[0][..., 1:2]
        return g.expand(rows, cols // 4, 4).reshape(rows, cols)
    return torch.sort(s, dim=-1)[0][:, int(cols * 0.5) - 1:int(cols * 0.5)].expand(rows, cols)


def layer_forward(cfg, P, i, x, cap):
    """One decoder layer (float64) on x (B, T, C); cap gets each linear's input."""
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV, D = cfg["num_key_value_heads"], cfg.get("head_dim") or C // H
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    B, T, _ = x.shape
    p = f"model.layers.{i}."

    def rms(v, w):
        return w * (v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + eps))

    def lin(v, name):
        return F.linear(v, P[p + name + ".weight"], P.get(p + name + ".bias"))

    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv
    ang = torch.cat([ang, ang], -1)
    cos, sin = ang.cos(), ang.sin()

    def rope(v):
        h = v.shape[-1] // 2
        return v * cos + torch.cat([-v[..., h:], v[..., :h]], -1) * sin

    h = rms(x, P[p + "input_layernorm.weight"])
    cap["attn"] = h
    q = lin(h, "self_attn.q_proj").view(B, T, H, D).transpose(1, 2)
    k = lin(h, "self_attn.k_proj").view(B, T, KV, D).transpose(1, 2)
    v = lin(h, "self_attn.v_proj").view(B, T, KV, D).transpose(1, 2)
    q, k = rope(q), rope(k)
    k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, H * D)
    cap["o"] = y
    x = x + lin(y, "self_attn.o_proj")
    h = rms(x, P[p + "post_attention_layernorm.weight"])
    cap["mlp"] = h
    a = F.silu(lin(h, "mlp.gate_proj")) * lin(h, "mlp.up_proj")
    cap["down"] = a
    return x + lin(a, "mlp.down_proj")


def torch_prune(cfg, dense, method, pattern, ids):
    """Returns {name: (pruned mask, float32 scores)} for every block matrix."""
    out = {}
    if method == "magnitude":
        for i in range(cfg["num_hidden_layers"]):
            for m in MATS:
                name = f"model.layers.{i}.{m}.weight"
                s = scores(torch.from_numpy(dense[name]), None)
                out[name] = (pruned_mask(s, pattern), s)
        return out
    P = {k: torch.from_numpy(v).double() for k, v in dense.items()}
    x = F.embedding(ids, P["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        cap = {}
        layer_forward(cfg, P, i, x, cap)  # dense layer i: its inputs
        for m in MATS:
            name = f"model.layers.{i}.{m}.weight"
            a = cap[INPUT_OF[m]]
            norm = a.reshape(-1, a.shape[-1]).pow(2).sum(0).sqrt().float()
            s = scores(torch.from_numpy(dense[name]), norm)
            mask = pruned_mask(s, pattern)
            out[name] = (mask, s)
            P[name] = P[name].masked_fill(mask, 0.0)
        x = layer_forward(cfg, P, i, x, {})  # the pruned layer i gives layer i+1 its inputs
    return out


def check(tag, cfg, dense, got, want, exact):
    for name, arr in dense.items():
        if name not in want:
            if not np.array_equal(got[name], arr):
                failures.append(f"{tag}: {name} changed but is not a block matrix")
            continue
        mask, s = want[name]
        g = torch.from_numpy(got[name])
        got_mask = g == 0
        kept_ok = torch.equal(g[~got_mask], torch.from_numpy(arr)[~got_mask])
        if not kept_ok:
            failures.append(f"{tag}: {name}: a kept weight changed")
        diff = got_mask != mask
        n = int(diff.sum())
        if exact and n:
            failures.append(f"{tag}: {name}: {n} mask entries differ from torch")
        elif n:
            near_ties.append(n)
            th = thresholds(s, "2:4" if tag.endswith("2:4") else "50%")
            rel = ((s - th).abs() / th.clamp_min(1e-30))[diff]
            if float(rel.max()) > 1e-4 or n > max(1, mask.numel() // 1000):
                failures.append(f"{tag}: {name}: {n} mask entries differ, not near-ties (max rel gap {float(rel.max()):.2e})")
        want_zero = mask.float().mean().item()
        if abs(got_mask.float().mean().item() - want_zero) > 1e-9:
            failures.append(f"{tag}: {name}: sparsity {got_mask.float().mean().item()} != {want_zero}")


def main():
    if not os.path.isdir(BASE):
        print(f"SKIP: {BASE} not found")
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "tiny")
        run("init", "--config", os.path.join(ROOT, "configs", "tiny.json"), "--tokenizer",
            os.path.join(BASE, "tokenizer.json"), "--out", model, "--seed", "5")
        rng = np.random.default_rng(3)
        words = ["the", "model", "weights", "of", "a", "small", "network", "are", "pruned", "by", "score",
                 "activation", "norm", "river", "stone", "light", "小", "模型", "剪枝", "数据", "and", "then"]
        text = " ".join(rng.choice(words, 400))
        calib = os.path.join(tmp, "calib.jsonl")
        with open(calib, "w", encoding="utf-8") as f:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        ids = json.loads(run("tokenizer", "encode", "--tokenizer", model, "--json", stdin=text))
        assert len(ids) >= N_SEQ * SEQ, len(ids)
        ids = torch.tensor(ids[:N_SEQ * SEQ]).reshape(N_SEQ, SEQ)
        with open(os.path.join(model, "config.json")) as f:
            cfg = json.load(f)
        dense = st.read(os.path.join(model, "model.safetensors"))
        for method in ("magnitude", "wanda"):
            for pattern in ("50%", "2:4"):
                out = os.path.join(tmp, f"{method}-{pattern.replace(':', '-').replace('%', '')}")
                flag = ["--pattern", "2:4"] if pattern == "2:4" else ["--sparsity", "0.5"]
                extra = ["--calib", calib, "--calib-tokens", str(N_SEQ * SEQ), "--seq", str(SEQ)] if method == "wanda" else []
                run("prune", "--model", model, "--method", method, *flag, *extra, "--out", out, "--threads", "2")
                got = st.read(os.path.join(out, "model.safetensors"))
                want = torch_prune(cfg, dense, method, pattern, ids)
                check(f"{method} {pattern}", cfg, dense, got, want, exact=method == "magnitude")
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print(f"prune vs torch: magnitude and wanda, 50% and 2:4: OK ({sum(near_ties)} wanda mask entries differ at near-ties)")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    main()
