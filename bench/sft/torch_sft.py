"""Anchor for bench/sft: the SFT loop a PyTorch 1.13 user would write for the same masked loss on the
same packed rows: a Hugging Face model directory loaded into a plain-PyTorch Llama/Qwen2
(../train_step/torch_llama.py), attention restricted to each conversation of a packed row (a
block-diagonal causal mask) with positions restarting per conversation, cross-entropy over the
non-ignored targets, AdamW (betas 0.9/0.999, no weight decay), clipping at 1.0. With --lora-r, LoRA as
plain modules on every linear layer of the blocks (y = base(x) + alpha/r * B(A(dropout(x)))), the base
frozen (requires_grad False: no weight gradients).
The rows come from `baimo sft --debug-dump-rows FILE`: int32 ids, targets, positions, segments (N, T).
Prints one JSON line: {"step_s": median seconds per step, "peak_rss_mb", "loss"}."""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train_step"))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "reference"))
import safetensors_io as st  # noqa: E402
from torch_llama import Config, Llama, rotate_half  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--rows", required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--lr", type=float, default=2e-5)
ap.add_argument("--lora-r", type=int, default=0)
ap.add_argument("--lora-alpha", type=float, default=16.0)
ap.add_argument("--lora-dropout", type=float, default=0.05)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

cfg = Config.load(os.path.join(a.model, "config.json"))
model = Llama(cfg)
weights = st.read(os.path.join(a.model, "model.safetensors"))
state = {}
for k, v in model.hf_state_dict().items():
    state[k] = torch.from_numpy(weights[k]).float()
model.load_state_dict({(k if k.startswith("lm_head") else k[len("model."):]): v for k, v in state.items()})


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha, dropout):
        super().__init__()
        self.base = base
        self.A = nn.Linear(base.in_features, r, bias=False)
        self.B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.B.weight)
        self.drop = nn.Dropout(dropout)
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + self.B(self.A(self.drop(x))) * self.scale


if a.lora_r > 0:
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.layers:
        for parent, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                              (layer.mlp, ("gate_proj", "up_proj", "down_proj"))):
            for n in names:
                setattr(parent, n, LoraLinear(getattr(parent, n), a.lora_r, a.lora_alpha, a.lora_dropout))


def forward_packed(ids, positions, segments):
    """logits of packed rows: rotary angles by position, attention within a segment and causal."""
    B, T = ids.shape
    inv = 1.0 / (cfg.theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim))
    ang = positions.double()[..., None] * inv                       # (B, T, D/2)
    ang = torch.cat([ang, ang], dim=-1)[:, None]                    # (B, 1, T, D)
    cos, sin = ang.cos().float(), ang.sin().float()
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    same = segments[:, :, None] == segments[:, None, :]              # (B, T, T)
    mask = ~(causal & same)[:, None]                                # True = masked
    x = model.embed_tokens(ids)
    for layer in model.layers:
        x = layer(x, cos, sin, mask)
    x = model.norm(x)
    w = model.embed_tokens.weight if model.lm_head is None else model.lm_head.weight
    return x @ w.t()


rows = {k: torch.from_numpy(v.astype("int64")) for k, v in st.read(a.rows).items()}
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
n_rows = rows["ids"].shape[0]
times = []
for step in range(a.warmup + a.steps):
    sel = [(step * a.batch + i) % n_rows for i in range(a.batch)]
    ids, tg = rows["ids"][sel], rows["targets"][sel]
    pos, seg = rows["positions"][sel], rows["segments"][sel]
    t0 = time.perf_counter()
    logits = forward_packed(ids, pos, seg)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.reshape(-1), ignore_index=-100)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        times.append(dt)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"step_s": statistics.median(times), "peak_rss_mb": rss_mb, "loss": float(loss)}))
