#!/usr/bin/env python3
"""baimo's distillation losses (autograd/distill_loss.h, the fused op under `baimo distill`) against
PyTorch (float64).

N = 12 rows of V = 50 random student and teacher logits (teacher logits sharper and partly
correlated with the student's), 3 rows not counted (target -100). `baimo debug-distill-loss` runs
the fused op with identity heads, so its hidden-state gradient is the gradient w.r.t. the student's
logits. Torch computes, per counted row, averaged over the counted rows:
  forward_kl: T^2 * KL(softmax(t/T) || softmax(s/T))            (Hinton's KD)
  reverse_kl: T^2 * KL(softmax(s/T) || softmax(t/T))
  jsd:        TRL GKDTrainer.generalized_jsd_loss's convention: both logits / T, the mixture in log
              space m = logsumexp(log p_s + log(1 - beta), log p_t + log(beta)),
              beta * KL(p_t || m) + (1 - beta) * KL(p_s || m); beta = 0 -> KL(p_t || p_s),
              beta = 1 -> KL(p_s || p_t) (TRL's special cases); no T^2
  + ce_weight * cross_entropy(s, target)
The loss, its divergence and cross-entropy parts and the gradient w.r.t. the student logits must
match to max|baimo - torch| / max|torch| <= 1e-4 for every loss, T in {1, 2.5}, beta in {0, 0.1,
0.5, 0.9, 1}, ce_weight in {0, 0.7}, automatic chunks and chunks of 5 rows (not dividing the 9
counted rows). A bad --loss name and beta outside [0, 1] are clear errors.

Usage: /usr/bin/python3 test_distill_vs_torch.py path/to/baimo"""
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


def kl(log_a, log_b):
    """KL(exp(log_a) || exp(log_b)) per row (F.kl_div's log_target form: input = log_b, target = log_a)."""
    return F.kl_div(log_b, log_a, reduction="none", log_target=True).sum(-1)


def torch_loss(s, t, targets, loss, T, beta, ce_weight):
    s = s.clone().requires_grad_(True)
    ls, lt = F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)
    if loss == "forward_kl":
        div = T * T * kl(lt, ls)
    elif loss == "reverse_kl":
        div = T * T * kl(ls, lt)
    elif beta == 0:
        div = kl(lt, ls)
    elif beta == 1:
        div = kl(ls, lt)
    else:
        b = torch.tensor(beta, dtype=s.dtype)
        lm = torch.logsumexp(torch.stack([ls + torch.log(1 - b), lt + torch.log(b)]), 0)
        div = b * kl(lt, lm) + (1 - b) * kl(ls, lm)
    mask = targets != -100
    ce = F.cross_entropy(s, targets, ignore_index=-100, reduction="none")
    count = mask.sum()
    div_mean = div[mask].sum() / count
    ce_mean = ce[mask].sum() / count
    total = div_mean + ce_weight * ce_mean
    total.backward()
    return total.item(), div_mean.item(), ce_mean.item(), s.grad.numpy()


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
        inp, out = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
        st.write(inp, {"student_logits": s, "teacher_logits": t, "targets": targets})
        cases = []
        for T in (1.0, 2.5):
            for ce_w in (0.0, 0.7):
                cases += [("forward_kl", T, 0.5, ce_w), ("reverse_kl", T, 0.5, ce_w)]
                cases += [("jsd", T, b, ce_w) for b in (0.0, 0.1, 0.5, 0.9, 1.0)]
        for loss, T, beta, ce_w in cases:
            for chunk in (0, 5):
                what = f"{loss} T={T} beta={beta} ce_weight={ce_w} chunk={chunk}"
                cmd = [baimo, "debug-distill-loss", "--in", inp, "--out", out, "--loss", loss, "--temperature",
                       str(T), "--beta", str(beta), "--ce-weight", str(ce_w), "--chunk-rows", str(chunk)]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{what}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                got = st.read(out)
                want_loss, want_div, want_ce, want_grad = torch_loss(s64, t64, tg, loss, T, beta, ce_w)
                relative_check(failures, what + " loss", got["loss"], [want_loss], TOL)
                relative_check(failures, what + " divergence", got["divergence"], [want_div], TOL)
                relative_check(failures, what + " cross_entropy", got["cross_entropy"], [want_ce], TOL)
                relative_check(failures, what + " grad", got["grad"], want_grad, TOL)
                checked += 1
        for bad, needle in ((["--loss", "kl"], "expected forward_kl, reverse_kl or jsd"),
                            (["--loss", "jsd", "--beta", "1.5"], "beta")):
            r = subprocess.run([baimo, "debug-distill-loss", "--in", inp, "--out", out] + bad,
                               capture_output=True, text=True)
            if r.returncode == 0 or needle not in r.stderr:
                failures.append(f"{bad}: expected a clear error naming {needle!r}, got exit {r.returncode}: {r.stderr}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"distillation losses vs torch: {checked} cases OK (tol {TOL})")


if __name__ == "__main__":
    main()
