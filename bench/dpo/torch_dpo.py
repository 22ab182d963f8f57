"""Anchor for bench/dpo: the DPO loop a PyTorch 1.13 user would write for the same pairs: a Hugging Face
model directory in plain PyTorch (../train_step/torch_packed.py; with --lora-r, LoRA modules on every
linear layer and the base frozen), each micro-batch's packed rows (prompt + chosen and prompt + rejected
of every pair, attention within each sequence) through the model, log_softmax over the vocabulary,
the answer tokens' log-probs gathered and summed per sequence (index_add), the cached reference
log-probs, the sigmoid DPO loss -logsigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))) averaged over
pairs, AdamW (betas 0.9/0.999, no weight decay), clipping at 1.0.
The micro-batches come from `baimo dpo --debug-dump-pairs FILE` (ids_K, targets_K, positions_K,
segments_K, chosen_group_K, rejected_group_K, ref_chosen_K, ref_rejected_K).
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
ap.add_argument("--pairs", required=True)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--lr", type=float, default=1e-6)
ap.add_argument("--beta", type=float, default=0.1)
ap.add_argument("--lora-r", type=int, default=0)
ap.add_argument("--lora-alpha", type=float, default=16.0)
ap.add_argument("--lora-dropout", type=float, default=0.05)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

cfg, model = load_model(a.model)
if a.lora_r > 0:
    add_lora(model, a.lora_r, a.lora_alpha, a.lora_dropout)
dump = st.read(a.pairs)
batches = []
k = 0
while f"ids_{k}" in dump:
    b = {n: torch.from_numpy(dump[f"{n}_{k}"].astype("int64"))
         for n in ("ids", "targets", "positions", "segments", "chosen_group", "rejected_group")}
    b["ref_chosen"] = torch.from_numpy(dump[f"ref_chosen_{k}"]).float()
    b["ref_rejected"] = torch.from_numpy(dump[f"ref_rejected_{k}"]).float()
    batches.append(b)
    k += 1
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def sequence_logps(logits, targets, group, pairs):
    logp = logits.log_softmax(-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0]   # (B, T)
    keep = group >= 0
    return torch.zeros(pairs).index_add(0, group[keep], logp[keep])


times = []
for step in range(a.warmup + a.steps):
    b = batches[step % len(batches)]
    pairs = b["ref_chosen"].shape[0]
    t0 = time.perf_counter()
    logits = forward_packed(cfg, model, b["ids"], b["positions"], b["segments"])
    pi_c = sequence_logps(logits, b["targets"], b["chosen_group"], pairs)
    pi_r = sequence_logps(logits, b["targets"], b["rejected_group"], pairs)
    h = (pi_c - b["ref_chosen"]) - (pi_r - b["ref_rejected"])
    loss = -F.logsigmoid(a.beta * h).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        times.append(dt)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"step_s": statistics.median(times), "peak_rss_mb": rss_mb, "loss": float(loss)}))
