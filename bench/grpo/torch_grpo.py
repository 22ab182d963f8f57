"""Anchor for bench/grpo: one full GRPO step (generate, score, train) the way a PyTorch 1.13 user would write
it for the same model directory and the same work as bench_grpo.cpp: the synthetic prompts
(../rollout/torch_rollout.py: (1 + 131 p + 17 j) mod V) repeated --group times, sampled with that file's
KV-cache loop (temperature 1, --new tokens each, no EOS stop), reward = the share of a sample's tokens with an
even id, advantages (r - group mean) / (group std + 1e-4), the policy's log-probs of the sampled tokens with
gradient (one forward over prompt + answer), the reference's (a deep copy of the start model) under no_grad,
per token min(ratio A, clip(ratio, 0.8, 1.2) A) - 0.04 k3, mean per answer then over answers, backward,
clip_grad_norm_(1.0), AdamW (lr 1e-6, betas (0.9, 0.999), no weight decay).
Prints one JSON line: {"step_seconds": [...]} for the steps after --warmup."""
import argparse
import copy
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train_step"))
sys.path.insert(0, os.path.join(here, "..", "rollout"))
from torch_packed import load_model  # noqa: E402
from torch_rollout import rollout, synthetic_prompts  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--prompts", type=int, default=4)
ap.add_argument("--prompt-len", type=int, default=32)
ap.add_argument("--group", type=int, default=8)
ap.add_argument("--new", type=int, default=64)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
cfg, policy = load_model(a.model)
reference = copy.deepcopy(policy).eval()
for p in reference.parameters():
    p.requires_grad_(False)
opt = torch.optim.AdamW(policy.parameters(), lr=1e-6, betas=(0.9, 0.999), weight_decay=0.0)
prompts = synthetic_prompts(cfg, a.prompts, a.prompt_len).repeat_interleave(a.group, dim=0)  # (N, P)
P, beta, eps = a.prompt_len, 0.04, 0.2


def answer_logprobs(model, rows):
    """Log-probs of the answer tokens of rows (N, P + new): (N, new)."""
    logits = model(rows[:, :-1])[:, P - 1:]
    return torch.gather(F.log_softmax(logits, dim=-1), 2, rows[:, P:].unsqueeze(-1)).squeeze(-1)


def step(seed):
    policy.eval()
    answers, _ = rollout(cfg, policy, prompts, a.new, seed)
    rewards = (answers % 2 == 0).float().mean(1).view(-1, a.group)
    adv = ((rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)).view(-1, 1)
    rows = torch.cat([prompts, answers], 1)
    policy.train()
    logp = answer_logprobs(policy, rows)
    with torch.no_grad():
        ref = answer_logprobs(reference, rows)
    ratio = torch.exp(logp - logp.detach())
    pg = -torch.min(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv)
    k3 = torch.exp(ref - logp) - (ref - logp) - 1
    loss = (pg + beta * k3).mean(1).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
    opt.step()


seconds = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    step(s + 1)
    if s >= a.warmup:
        seconds.append(time.perf_counter() - t0)
print(json.dumps({"step_seconds": seconds}), flush=True)
