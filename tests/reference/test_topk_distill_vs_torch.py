#!/usr/bin/env python3
"""baimo's top-k (teacher cache) distillation loss (autograd/topk_distill_loss.h, `baimo distill
--teacher-cache`) against PyTorch (float64).

N = 12 rows of V = 50 random student and teacher logits (as test_distill_vs_torch.py), 3 rows not
counted (target -100). The teacher's top-k at temperature T: torch.topk of log_softmax(teacher / T) (ids
and log-probs) and the probability of the other tokens, both rounded to float32 as the cache stores them.
`baimo debug-distill-loss --top-k K` runs the fused op with identity heads, so its hidden-state gradient
is the gradient w.r.t. the student's logits. Torch computes, per counted row, averaged over them, with
p = exp(topk_logprobs), p_rest the tail, log q = log_softmax(s / T), log q_rest = logsumexp of log q off
the top-k:
  T^2 * [sum_i p_i (log p_i - log q[ids_i]) + p_rest (log p_rest - log q_rest)]
  + ce_weight * cross_entropy(s, target)
The loss, its divergence and cross-entropy parts and the gradient must match to
max|baimo - torch| / max|torch| <= 1e-4 for k in {1, 8, 50 = V}, T in {1, 2.5}, ce_weight in {0, 0.7},
automatic chunks and chunks of 5 rows. With k = V the torch top-k loss is also checked against torch's
full forward KL, and baimo's top-k loss against baimo's full forward-KL op. --loss reverse_kl / jsd with
--top-k are clear errors.

Usage: /usr/bin/python3 test_topk_distill_vs_torch.py path/to/baimo"""
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

TOL = 1e-4
N, V = 12, 50
failures = []


def torch_topk_loss(s, ids, lps, tail, targets, T, ce_weight):
    s = s.clone().requires_grad_(True)
    ls = F.log_softmax(s / T, -1)
    lq = ls.gather(-1, ids)
    div = T * T * (lps.exp() * (lps - lq)).sum(-1)
    if ids.shape[-1] < ls.shape[-1]:  # a rest bucket (k = V has none)
        assert bool((tail > 0).all()), tail
        in_k = torch.zeros_like(ls, dtype=torch.bool).scatter(-1, ids, True)
        lq_rest = torch.logsumexp(ls.masked_fill(in_k, float("-inf")), -1)
        div = div + T * T * tail * (torch.log(tail) - lq_rest)
    mask = targets != -100
    ce = F.cross_entropy(s, targets, ignore_index=-100, reduction="none")
    count = mask.sum()
    div_mean, ce_mean = div[mask].sum() / count, ce[mask].sum() / count
    total = div_mean + ce_weight * ce_mean
    total.backward()
    return total.item(), div_mean.item(), ce_mean.item(), s.grad.numpy()


def torch_full_kl(s, t, targets, T, ce_weight):
    s = s.clone().requires_grad_(True)
    ls, lt = F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)
    div = T * T * F.kl_div(ls, lt, reduction="none", log_target=True).sum(-1)
    mask = targets != -100
    ce = F.cross_entropy(s, targets, ignore_index=-100, reduction="none")
    total = div[mask].sum() / mask.sum() + ce_weight * ce[mask].sum() / mask.sum()
    total.backward()
    return total.item(), s.grad.numpy()


def run(baimo, inp, out, extra, what):
    r = subprocess.run([baimo, "debug-distill-loss", "--in", inp, "--out", out] + extra, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"{what}: exit {r.returncode}: {r.stderr.strip()}")
        return None
    return st.read(out)


def main():
    baimo = sys.argv[1]
    rng = np.random.default_rng(7)
    s = rng.normal(0, 1.5, (N, V)).astype(np.float32)
    t = (0.6 * s + rng.normal(0, 2.5, (N, V))).astype(np.float32)
    targets = rng.integers(0, V, N).astype(np.float32)
    targets[[1, 6, 11]] = -100
    s64, t64 = torch.tensor(s, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    tg = torch.tensor(targets.astype(np.int64))
    checked = 0
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.safetensors")
        for k in (1, 8, V):
            for T in (1.0, 2.5):
                lt = F.log_softmax(t64 / T, -1)
                lps, ids = lt.topk(k, -1)
                tail = lt.exp().sum(-1) - lps.exp().sum(-1) if k < V else torch.zeros(N, dtype=torch.float64)
                lps32, tail32 = lps.float(), tail.clamp_min(0).float()
                inp = os.path.join(d, f"in{k}_{T}.safetensors")
                st.write(inp, {"student_logits": s, "teacher_logits": t, "targets": targets,
                               "teacher_topk_ids": ids.float().numpy(), "teacher_topk_logprobs": lps32.numpy(),
                               "teacher_topk_tail": tail32.numpy()})
                for ce_w in (0.0, 0.7):
                    want = torch_topk_loss(s64, ids, lps32.double(), tail32.double(), tg, T, ce_w)
                    if k == V:  # the top-k form of the whole vocabulary is the forward KL
                        full_loss, full_grad = torch_full_kl(s64, t64, tg, T, ce_w)
                        relative_check(failures, f"torch k=V vs full T={T} ce={ce_w} loss", [want[0]], [full_loss], TOL)
                        relative_check(failures, f"torch k=V vs full T={T} ce={ce_w} grad", want[3], full_grad, TOL)
                    for chunk in (0, 5):
                        what = f"top-k {k} T={T} ce_weight={ce_w} chunk={chunk}"
                        common = ["--temperature", str(T), "--ce-weight", str(ce_w), "--chunk-rows", str(chunk)]
                        got = run(baimo, inp, out, common + ["--top-k", str(k)], what)
                        if got is None:
                            continue
                        relative_check(failures, what + " loss", got["loss"], [want[0]], TOL)
                        relative_check(failures, what + " divergence", got["divergence"], [want[1]], TOL)
                        relative_check(failures, what + " cross_entropy", got["cross_entropy"], [want[2]], TOL)
                        relative_check(failures, what + " grad", got["grad"], want[3], TOL)
                        checked += 1
                        if k == V:
                            full = run(baimo, inp, out, common + ["--loss", "forward_kl"], what + " (full op)")
                            if full is not None:
                                relative_check(failures, what + " vs baimo's full forward KL loss", got["loss"],
                                               full["loss"], TOL)
                                relative_check(failures, what + " vs baimo's full forward KL grad", got["grad"],
                                               full["grad"], TOL)
        for loss in ("reverse_kl", "jsd"):
            r = subprocess.run([baimo, "debug-distill-loss", "--in", inp, "--out", out, "--top-k", str(V), "--loss", loss],
                               capture_output=True, text=True)
            if r.returncode == 0 or "only the forward KL" not in r.stderr:
                failures.append(f"--top-k with --loss {loss}: expected a clear error, got exit {r.returncode}: {r.stderr}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"top-k distillation loss vs torch: {checked} cases OK (tol {TOL})")


if __name__ == "__main__":
    main()
