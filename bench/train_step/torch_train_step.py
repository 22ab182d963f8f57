"""Anchor for bench/train_step: the same full training step (forward, cross-entropy, backward,
global-norm clipping, AdamW) as baimo's, in PyTorch, on random tokens.
Prints one JSON line: {"tokens_per_s": median over timed steps, "peak_rss_mb": ...}."""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Config, Llama, loss_fn  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--seq", type=int, required=True)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
cfg = Config.load(a.config)
model = Llama(cfg)
for p in model.parameters():
    torch.nn.init.normal_(p, 0.0, 0.02) if p.dim() > 1 else torch.nn.init.ones_(p)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
gen = torch.Generator().manual_seed(1)
times = []
for step in range(a.warmup + a.steps):
    ids = torch.randint(0, cfg.vocab, (a.batch, a.seq + 1), generator=gen)
    t0 = time.perf_counter()
    logits = model(ids[:, :-1])
    loss = loss_fn(logits, ids[:, 1:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        times.append(dt)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"tokens_per_s": a.batch * a.seq / statistics.median(times), "peak_rss_mb": rss_mb,
                  "loss": float(loss)}))
