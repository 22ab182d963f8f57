"""Anchor for bench/sft: the SFT loop a PyTorch 1.13 user would write for the same masked loss on the
same packed rows: a Hugging Face model directory loaded into a plain-PyTorch Llama/Qwen2
(../train_step/torch_packed.py), attention restricted to each conversation of a packed row (a
block-diagonal causal mask) with positions restarting per conversation, cross-entropy over the
non-ignored targets, AdamW (betas 0.9/0.999, no weight decay), clipping at 1.0. With --lora-r, LoRA as
plain modules on every linear layer of the blocks (y = base(x) + alpha/r * B(A(dropout(x)))), the base
frozen (requires_grad False: no weight gradients).
The rows come from `baimo sft --debug-dump-rows FILE`: int32 ids, targets, positions, segments (N, T).
Prints one JSON line: {"step_s": median seconds per step, "peak_rss_mb", "loss"}."""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train_step"))
from torch_packed import add_lora, forward_packed, load_model, st  # noqa: E402

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

cfg, model = load_model(a.model)
if a.lora_r > 0:
    add_lora(model, a.lora_r, a.lora_alpha, a.lora_dropout)

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
    logits = forward_packed(cfg, model, ids, pos, seg)
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
