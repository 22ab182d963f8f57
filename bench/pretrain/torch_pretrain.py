"""Anchor for bench/pretrain: the PyTorch 1.13 training loop a person would write for the same job as
`baimo pretrain`: windows of seq+1 tokens drawn at random from baimo's token shards (numpy memmap of
index.json's shard files), the same Llama model (../train_step/torch_llama.py), mean cross-entropy,
backward, global-norm clipping, AdamW (weight decay on matrices only) with a warmup + cosine
schedule, and a metrics.jsonl line per step (loss.item(), lr, grad norm, tokens/s, elapsed) flushed
as it goes. Prints one JSON line: tokens_per_s over steps 2..N (step 1 warms up), peak RSS, losses."""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train_step"))
from torch_llama import Config, Llama, loss_fn  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True, help="metrics.jsonl to write")
ap.add_argument("--steps", type=int, required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--seq", type=int, required=True)
ap.add_argument("--lr", type=float, default=3e-4)
ap.add_argument("--min-lr", type=float, default=3e-5)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

# Shards: one memmap per file, addressed as one stream.
index = json.load(open(os.path.join(a.data, "index.json")))
dtype = np.uint16 if index["dtype"] == "uint16" else np.uint32
shards = [np.memmap(os.path.join(a.data, s["file"]), dtype=dtype, mode="r") for s in index["splits"]["train"]["shards"]]
starts = np.cumsum([0] + [len(s) for s in shards])
total = int(starts[-1])


def read(start, n):
    out = np.empty(n, dtype=np.int64)
    done = 0
    k = int(np.searchsorted(starts, start, side="right") - 1)
    while done < n:
        off = start + done - starts[k]
        take = min(n - done, len(shards[k]) - off)
        out[done:done + take] = shards[k][off:off + take]
        done += take
        k += 1
    return out


cfg = Config.load(a.config)
model = Llama(cfg)
for p in model.parameters():
    torch.nn.init.normal_(p, 0.0, 0.02) if p.dim() > 1 else torch.nn.init.ones_(p)
decay = [p for p in model.parameters() if p.dim() > 1]
no_decay = [p for p in model.parameters() if p.dim() <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=a.lr, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * t))


rng = np.random.default_rng(a.seed)
w = a.seq + 1
elapsed, losses = [], []
metrics = open(a.out, "w")
start = time.perf_counter()
for step in range(a.steps):
    t0 = time.perf_counter()
    batch = torch.from_numpy(np.stack([read(int(s), w) for s in rng.integers(0, total - w + 1, a.batch)]))
    lr = lr_at(step)
    for g in opt.param_groups:
        g["lr"] = lr
    logits = model(batch[:, :-1])
    loss = loss_fn(logits, batch[:, 1:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    opt.step()
    lv = loss.item()
    dt = time.perf_counter() - t0
    elapsed.append(time.perf_counter() - start)
    losses.append(lv)
    metrics.write(json.dumps({"step": step + 1, "loss": lv, "lr": lr, "grad_norm": gn,
                              "tokens_per_s": a.batch * a.seq / dt, "elapsed_s": elapsed[-1]}) + "\n")
    metrics.flush()
metrics.close()
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
tps = (a.steps - 1) * a.batch * a.seq / (elapsed[-1] - elapsed[0])
print(json.dumps({"tokens_per_s": tps, "peak_rss_mb": rss_mb, "first_loss": losses[0], "last_loss": losses[-1]}))
