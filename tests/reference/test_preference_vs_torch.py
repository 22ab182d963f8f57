#!/usr/bin/env python3
"""baimo's preference losses (DPO sigmoid / cDPO, IPO, hinge, SimPO, ORPO) against PyTorch (float64).

A tiny model (torch_reference_model.py) and P = 3 fixed pairs (a shared prompt, a chosen and a rejected
answer each), packed two sequences per row with position and segment ids, the two answers of a pair in
different rows. `baimo train-step --pairs` computes Transformer::token_logprobs -> segment_sum per
answer -> preference_loss and dumps the loss, the per-answer log-prob sums, the rewards and every
parameter gradient; torch computes the same from the definitions of train/preference_loss.h (TRL's).
All must match to a relative error max|baimo - torch| / max|torch| <= 1e-4, for both configs (Llama
untied, Qwen2 tied) and every loss, plus the sigmoid loss with a LoRA adapter on a frozen base.
A pairs file without the reference sums a loss needs, or with a bad loss name, is a clear error.

Usage: /usr/bin/python3 test_preference_vs_torch.py path/to/baimo"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from test_lora_vs_torch import (ALPHA, CONFIGS, R, LoraReference, adapter_tensors, check, failures,  # noqa: E402
                                random_model)
from torch_reference_model import Reference  # noqa: E402

TOL = 1e-4
T = 24
# (prompt, chosen answer, rejected answer) lengths per pair
PAIRS = [(4, 5, 7), (6, 3, 4), (3, 8, 6)]
# sequences per row: (pair, 0 = chosen / 1 = rejected); a pair's answers lie in different rows
ROWS = [[(0, 0), (1, 1)], [(1, 0), (2, 1)], [(2, 0), (0, 1)]]
LOSSES = [  # (loss, beta, label smoothing, simpo gamma, rpo alpha)
    ("sigmoid", 0.1, 0.0, 0.5, 0.0), ("sigmoid", 0.5, 0.2, 0.5, 0.0), ("ipo", 0.3, 0.0, 0.5, 0.0),
    ("hinge", 0.8, 0.0, 0.5, 0.0), ("simpo", 2.0, 0.1, 0.7, 0.0), ("orpo", 0.25, 0.0, 0.5, 0.0),
    ("sigmoid", 0.1, 0.0, 0.5, 0.6)]  # the last: DPO + NLL (RPO)


def make_pairs(rng, V):
    """The packed batch: input_ids, targets, position_ids, segment_ids, groups (rows, T)."""
    seqs = {}
    for i, (p, c, r) in enumerate(PAIRS):
        prompt = rng.integers(0, V, p)
        for kind, n in ((0, c), (1, r)):
            seqs[(i, kind)] = (prompt, rng.integers(0, V, n))
    b = {k: np.zeros((len(ROWS), T), np.int64) for k in ("input_ids", "targets", "position_ids", "segment_ids")}
    b["targets"][:] = -100
    b["groups"] = np.full((len(ROWS), T), -1, np.int64)
    for row, items in enumerate(ROWS):
        t = 0
        for seg, (pair, kind) in enumerate(items):
            prompt, answer = seqs[(pair, kind)]
            full = np.concatenate([prompt, answer])
            n = len(full) - 1  # inputs full[:-1], targets full[1:]; the answer's tokens are the targets
            b["input_ids"][row, t:t + n] = full[:-1]
            tg = full[1:].copy()
            tg[:len(prompt) - 1] = -100
            b["targets"][row, t:t + n] = tg
            b["position_ids"][row, t:t + n] = np.arange(n)
            b["segment_ids"][row, t:t + n] = seg
            b["groups"][row, t + len(prompt) - 1:t + n] = 2 * pair + kind
            t += n
        b["segment_ids"][row, t:] = len(items)  # pad tail: its own segment, no targets
        b["position_ids"][row, t:] = np.arange(T - t)
    return b


def group_sums(model, b):
    """Policy sums of answer log-probs per group (2P), and the answer token counts."""
    ids, tg = torch.from_numpy(b["input_ids"]), torch.from_numpy(b["targets"])
    lg = model.logits(ids, torch.from_numpy(b["position_ids"]), torch.from_numpy(b["segment_ids"]))
    lp = torch.log_softmax(lg, -1).gather(-1, tg.clamp(min=0)[..., None])[..., 0] * (tg != -100)
    g = torch.from_numpy(b["groups"])
    n = 2 * len(PAIRS)
    sums = torch.stack([lp[g == k].sum() for k in range(n)])
    counts = torch.tensor([float(((g == k) & (tg != -100)).sum()) for k in range(n)], dtype=torch.float64)
    return sums, counts


def torch_loss(kind, beta, eps, gamma, rpo, sums, counts, ref):
    """The per-pair losses of train/preference_loss.h (TRL's definitions), mean over pairs; rewards."""
    pc, pr, nc, nr = sums[0::2], sums[1::2], counts[0::2], counts[1::2]
    nll = -pc / nc  # RPO's term: the chosen answer's mean token NLL
    rc, rr = ref[0::2], ref[1::2]
    if kind in ("ipo", "simpo", "orpo"):  # average log-probs
        pc, pr, rc, rr = pc / nc, pr / nr, rc / nc, rr / nr
    h = (pc - pr) - (rc - rr)
    if kind == "sigmoid":
        losses = -F.logsigmoid(beta * h) * (1 - eps) - F.logsigmoid(-beta * h) * eps
    elif kind == "ipo":
        losses = (h - 1 / (2 * beta)) ** 2
    elif kind == "hinge":
        losses = torch.relu(1 - beta * h)
    elif kind == "simpo":
        z = beta * (pc - pr) - gamma
        losses = -F.logsigmoid(z) * (1 - eps) - F.logsigmoid(-z) * eps
    else:  # orpo
        log_odds = (pc - pr) - (torch.log1p(-torch.exp(pc)) - torch.log1p(-torch.exp(pr)))
        losses = -pc - beta * F.logsigmoid(log_odds)
    losses = losses + rpo * nll
    if kind in ("simpo", "orpo"):
        rewards = (beta * pc, beta * pr)
    else:
        rewards = (beta * (pc - rc), beta * (pr - rr))
    return losses.mean(), rewards


def train_step(model_dir, pairs_path, kind, beta, eps, gamma, rpo, dump, extra=()):
    cmd = [BAIMO, "train-step", "--model", model_dir, "--pairs", pairs_path, "--loss", kind, "--beta", str(beta),
           "--label-smoothing", str(eps), "--simpo-gamma", str(gamma), "--rpo-alpha", str(rpo),
           "--steps", "1"] + list(extra)
    if dump:
        cmd += ["--dump-dir", dump]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))


def compare(tag, r, dump, model, params, b, kind, beta, eps, gamma, rpo, ref):
    if r.returncode != 0:
        failures.append(f"{tag}: baimo train-step failed: {r.stderr.strip()}")
        return
    got = st.read(os.path.join(dump, "outputs.safetensors"))
    got_grads = st.read(os.path.join(dump, "grads.safetensors"))
    for p in params.values():
        p.grad = None
    sums, counts = group_sums(model, b)
    loss, (rew_c, rew_r) = torch_loss(kind, beta, eps, gamma, rpo, sums, counts, torch.from_numpy(ref).double())
    loss.backward()
    errs = {"loss": check(f"{tag}: loss", got["loss"][0], loss.item()),
            "logps": check(f"{tag}: logps", got["logps"], sums.detach().numpy()),
            "chosen_rewards": check(f"{tag}: chosen_rewards", got["chosen_rewards"], rew_c.detach().numpy()),
            "rejected_rewards": check(f"{tag}: rejected_rewards", got["rejected_rewards"], rew_r.detach().numpy())}
    if set(got_grads) != set(params):
        failures.append(f"{tag}: gradient names differ: extra {set(got_grads) - set(params)}, "
                        f"missing {set(params) - set(got_grads)}")
    for n, p in params.items():
        if n in got_grads:
            errs["grad " + n] = check(f"{tag}: grad {n}", got_grads[n], p.grad.numpy())
    worst = max(errs, key=errs.get)
    print(f"{tag}: loss {got['loss'][0]:.6f}, {len(errs)} comparisons, worst relative error {errs[worst]:.2e} "
          f"({worst})")


def run(name, cfg, workdir, lora):
    rng = np.random.default_rng(17)
    model_dir, weights = random_model(BAIMO, cfg, workdir, rng)
    b = make_pairs(rng, cfg["vocab_size"])
    # reference sums: the policy's own plus noise (a reference model that differs a little)
    with torch.no_grad():
        sums, _ = group_sums(Reference(cfg, weights), b)
    ref = (sums.numpy() + rng.normal(0.0, 0.7, sums.shape)).astype(np.float32)
    pairs_path = os.path.join(workdir, "pairs.safetensors")
    st.write(pairs_path, dict(b, groups=b["groups"].astype(np.int32), ref_logps=ref))
    ref = ref.astype(np.float64)

    if lora:
        adapter = adapter_tensors(cfg, rng)
        adapter_path = os.path.join(workdir, "adapter.safetensors")
        st.write(adapter_path, adapter)
        extra = ["--lora-adapter", adapter_path, "--lora-r", str(R), "--lora-alpha", str(ALPHA),
                 "--lora-targets", "q,k,v,o,gate,up,down"]
        for kind, beta, eps, gamma, rpo in LOSSES[:1] + LOSSES[5:]:  # sigmoid, orpo, rpo
            model = LoraReference(cfg, weights, adapter, ALPHA / R)
            params = {}
            for n in adapter:
                module = n[len("base_model.model."):].rsplit(".lora_", 1)[0]
                params[n] = getattr(model.branches[module], "lora_A" if ".lora_A." in n else "lora_B")
            dump = os.path.join(workdir, f"dump_lora_{kind}_{rpo}")
            r = train_step(model_dir, pairs_path, kind, beta, eps, gamma, rpo, dump, extra)
            compare(f"{name} LoRA {kind} rpo {rpo}", r, dump, model, params, b, kind, beta, eps, gamma, rpo, ref)
        return

    for kind, beta, eps, gamma, rpo in LOSSES:
        model = Reference(cfg, weights)
        dump = os.path.join(workdir, f"dump_{kind}_{eps}_{rpo}")
        r = train_step(model_dir, pairs_path, kind, beta, eps, gamma, rpo, dump)
        compare(f"{name} {kind} beta {beta} eps {eps} rpo {rpo}", r, dump, model, model.params, b, kind, beta, eps,
                gamma, rpo, ref)

    # clear errors: the reference sums missing for a loss that needs them; an unknown loss
    no_ref = os.path.join(workdir, "no_ref.safetensors")
    st.write(no_ref, dict(b, groups=b["groups"].astype(np.int32)))
    r = train_step(model_dir, no_ref, "sigmoid", 0.1, 0.0, 0.5, 0.0, None)
    if r.returncode != 1 or "ref_logps" not in r.stderr:
        failures.append(f"{name}: missing ref_logps: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    r = train_step(model_dir, no_ref, "simpo", 2.0, 0.0, 0.5, 0.0, None)  # no reference needed
    if r.returncode != 0:
        failures.append(f"{name}: simpo without ref_logps failed: {r.stderr.strip()!r}")
    r = train_step(model_dir, pairs_path, "dpo", 0.1, 0.0, 0.5, 0.0, None)
    if r.returncode != 1 or "sigmoid, ipo, hinge, simpo, orpo" not in r.stderr:
        failures.append(f"{name}: unknown loss: exit {r.returncode}, stderr {r.stderr.strip()!r}")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    for name, cfg in CONFIGS.items():
        for lora in (False, True):
            with tempfile.TemporaryDirectory(prefix="baimo_pref_ref_") as d:
                run(name, cfg, d, lora)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all comparisons within", TOL)
