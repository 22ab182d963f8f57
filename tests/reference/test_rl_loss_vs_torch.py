#!/usr/bin/env python3
"""baimo's RL losses (train/rl_advantages.h, rl_kl.h, rl_loss.h) against PyTorch (float64).

A batch of N = 8 responses (T = 9 token slots, lengths 1..9, trailing padding) with random per-token
log-probs (policy, behaviour, reference), values, old values, scores (PPO) and rewards in groups of 4
(GRPO; one group with all rewards equal). `baimo debug-rl-loss` computes the losses and their
gradients w.r.t. the log-probs (and the values); torch computes them here from TRL's / OpenRLHF's
code (PPOTrainer: KL penalty in the rewards, GAE, masked_whiten, clipped policy and value losses;
OpenRLHF's dual clip; GRPOTrainer: group advantages, the clipped loss plus beta * k3, the grpo / dapo /
dr_grpo normalisations). Every loss, intermediate and gradient must match to a relative error
max|baimo - torch| / max|torch| <= 1e-4: PPO with each KL estimator, whitening with and without the
mean shifted back, dual clip, each normalisation; GRPO with each normalisation, with and without
beta, clip-higher, unscaled rewards (Dr. GRPO), old log-probs absent; and, split into two
micro-batches with the whole batch's counts, the parts' losses add up to the whole's. Missing
reference log-probs and a bad normalisation name are clear errors.
Through a tiny model (torch_reference_model.py, both configs of test_lora_vs_torch.py): `baimo
train-step --rl` computes Transformer::token_logprobs of 4 responses (one per row, prompt tokens
and padding with target -100) -> grpo_loss; its token log-probs, loss and every parameter gradient
must match torch's for each normalisation (with beta > 0 and clip-higher); a file without the
advantages, or beta > 0 without the reference log-probs, is a clear error.

Usage: /usr/bin/python3 test_rl_loss_vs_torch.py path/to/baimo"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from ref_checks import relative_check  # noqa: E402
from test_lora_vs_torch import CONFIGS, random_model  # noqa: E402
from torch_reference_model import Reference  # noqa: E402

TOL = 1e-4
N, T, G = 8, 9, 4
LENGTHS = [9, 3, 6, 1, 8, 5, 9, 2]
failures = []


def make_inputs(rng):
    mask = np.zeros((N, T), np.float32)
    for i, n in enumerate(LENGTHS):
        mask[i, :n] = 1
    logp = rng.uniform(-3.0, -0.05, (N, T)).astype(np.float32) * mask  # 0 off the mask, as token_logprobs
    old = (logp + rng.normal(0.0, 0.3, (N, T)) * mask).astype(np.float32)
    ref = (logp + rng.normal(0.0, 0.4, (N, T)) * mask).astype(np.float32)
    values = rng.normal(0.0, 1.0, (N, T)).astype(np.float32)
    old_values = (values + rng.normal(0.0, 0.25, (N, T))).astype(np.float32)
    scores = rng.normal(0.0, 1.5, N).astype(np.float32)
    rewards = np.concatenate([rng.integers(0, 3, G).astype(np.float32), np.full(G, 0.5, np.float32)])
    return dict(mask=mask, logp=logp, old_logp=old, ref_logp=ref, values=values, old_values=old_values,
                scores=scores, rewards=rewards)


# ---- TRL / OpenRLHF definitions in torch ----
def masked_mean(x, m, dim=None):
    return (x * m).sum() / m.sum() if dim is None else (x * m).sum(dim) / m.sum(dim)


def masked_whiten(values, mask, shift_mean=True):  # trl.core.masked_whiten (unbiased masked_var)
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask) * mask.sum() / (mask.sum() - 1)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    return whitened if shift_mean else whitened + mean


def kl_estimate(logp, ref, kind):
    logr = ref - logp
    if kind == "k1":
        return -logr
    if kind == "k2":
        return logr ** 2 / 2
    return torch.exp(logr) - 1 - logr


def normalise(per_token, mask, norm, n_g=None, tokens_g=None, max_len=None):
    n_g = mask.shape[0] if n_g is None else n_g
    if norm == "grpo":
        return ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1.0)).sum() / n_g
    if norm == "dapo":
        return (per_token * mask).sum() / (mask.sum() if tokens_g is None else tokens_g)
    return (per_token * mask).sum() / (n_g * max_len)


def policy_term(logp, old, adv, eps_low, eps_high, dual_clip):
    ratio = torch.exp(logp - old)
    surr1 = ratio * adv
    surr2 = torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * adv
    if not dual_clip:
        return -torch.min(surr1, surr2), ratio
    clip1 = torch.min(surr1, surr2)  # OpenRLHF PolicyLoss
    clip2 = torch.max(clip1, dual_clip * adv)
    return -torch.where(adv < 0, clip2, clip1), ratio


def clip_metrics(ratio, adv, mask, eps_low, eps_high):
    low = ((ratio < 1 - eps_low) & (adv < 0)).double()
    high = ((ratio > 1 + eps_high) & (adv > 0)).double()
    return [masked_mean(low, mask), masked_mean(high, mask), masked_mean(torch.max(low, high), mask),
            masked_mean(ratio, mask)]


def torch_ppo(x, c):
    d = {k: torch.from_numpy(v).double() for k, v in x.items()}
    mask = d["mask"]
    logp, values = d["logp"].clone().requires_grad_(), d["values"].clone().requires_grad_()
    kl = kl_estimate(d["old_logp"], d["ref_logp"], c["kl_estimator"]) * mask if "ref_logp" in x \
        else torch.zeros_like(mask)
    rewards = -c["kl_coef"] * kl  # OpenRLHF compute_reward: the score at the last response token
    eos = T - 1 - mask.long().fliplr().argmax(dim=1)
    rewards[torch.arange(N), eos] += d["scores"]
    v, r = d["old_values"] * mask, rewards * mask  # GAE (TRL PPOTrainer / OpenRLHF)
    lastgaelam, rev = 0.0, []
    for t in reversed(range(T)):
        nextvalues = v[:, t + 1] if t < T - 1 else 0.0
        delta = r[:, t] + c["gamma"] * nextvalues - v[:, t]
        lastgaelam = delta + c["gamma"] * c["lam"] * lastgaelam
        rev.append(lastgaelam)
    adv = torch.stack(rev[::-1], dim=1)
    returns = (adv + v) * mask
    if c["whiten"]:
        adv = masked_whiten(adv, mask, shift_mean=not c["keep_mean"])
    adv = adv * mask
    pg, ratio = policy_term(logp, d["old_logp"], adv, c["eps_low"], c["eps_high"], c["dual_clip"])
    e = c["value_clip"]
    vclipped = torch.max(torch.min(values, d["old_values"] + e), d["old_values"] - e)
    l1, l2 = (values - returns) ** 2, (vclipped - returns) ** 2
    vf = 0.5 * torch.max(l1, l2)
    pg_loss = normalise(pg, mask, c["norm"], max_len=c.get("L"))
    vf_loss = normalise(vf, mask, c["norm"], max_len=c.get("L"))
    loss = pg_loss + c["vf_coef"] * vf_loss
    loss.backward()
    metrics = clip_metrics(ratio, adv, mask, c["eps_low"], c["eps_high"]) + [masked_mean((l2 > l1).double(), mask),
                                                                            mask.sum()]
    return dict(loss=loss, policy_loss=pg_loss, value_loss=vf_loss, kl=kl, token_rewards=r, advantages=adv,
                returns=returns, metrics=torch.stack([torch.as_tensor(m) for m in metrics]), grad_logp=logp.grad,
                grad_values=values.grad)


def group_advantages(rewards, scale):
    mean = rewards.view(-1, G).mean(dim=1).repeat_interleave(G)
    std = rewards.view(-1, G).std(dim=1)
    adv = rewards - mean
    if scale:
        adv = adv / (std.repeat_interleave(G) + 1e-4)
    return adv, (std == 0).double().mean()


def torch_grpo(x, c, rows=slice(None), n_g=None, tokens_g=None):
    """GRPO over the rows of the batch (all by default; n_g / tokens_g: the global counts of a part)."""
    d = {k: torch.from_numpy(v).double() for k, v in x.items()}
    adv, frac = group_advantages(d["rewards"], not c.get("no_scale", False))
    mask, adv = d["mask"][rows], adv[rows]
    logp = d["logp"][rows].clone().requires_grad_()
    old = logp.detach() if c.get("no_old") else d["old_logp"][rows]
    pg, ratio = policy_term(logp, old, adv[:, None].expand(-1, T), c["eps_low"], c["eps_high"], c.get("dual_clip", 0))
    kl = kl_estimate(logp, d["ref_logp"][rows], "k3")
    per_token = pg + c["beta"] * kl if c["beta"] else pg
    loss = normalise(per_token, mask, c["norm"], n_g, tokens_g, c.get("L"))
    loss.backward()
    metrics = clip_metrics(ratio, adv[:, None].expand(-1, T), mask, c["eps_low"], c["eps_high"]) + \
        [masked_mean(kl, mask), mask.sum()]
    return dict(loss=loss, advantages=adv, frac_zero_std=frac,
                metrics=torch.stack([torch.as_tensor(m) for m in metrics]), grad_logp=logp.grad)


# ---- baimo ----
def flags(c):
    out = []
    for k, v in c.items():
        if k in ("whiten", "keep_mean", "no_scale", "no_old"):
            if v:
                out.append({"whiten": "--whiten", "keep_mean": "--whiten-keep-mean", "no_scale": "--no-scale-rewards",
                            "no_old": "--no-old"}[k])
        elif k == "L":
            out += ["--max-completion-length", str(v)]
        else:
            out += ["--" + k.replace("_", "-"), str(v)]
    return out


def baimo(algo, inputs, c, workdir, extra=()):
    out = os.path.join(workdir, "out.safetensors")
    if os.path.exists(out):
        os.remove(out)
    cmd = [BAIMO, "debug-rl-loss", "--in", inputs, "--out", out, "--algo", algo] + flags(c) + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r
    return st.read(out), r


def compare(tag, got, want):
    errs = {}
    for k, w in want.items():
        w = w.detach().numpy() if torch.is_tensor(w) else np.asarray(w)
        g = got[k]
        if w.ndim == 0:
            w = w.reshape(1)
        errs[k] = relative_check(failures, f"{tag}: {k}", g, w, TOL)
    extra = set(got) - set(want)
    if extra:
        failures.append(f"{tag}: outputs not compared: {sorted(extra)}")
    worst = max(errs, key=errs.get)
    print(f"{tag}: loss {got['loss'][0]:.6f}, {len(errs)} outputs, worst relative error {errs[worst]:.2e} ({worst})")


PPO = [
    dict(norm="dapo", kl_estimator="k1", kl_coef=0.05, gamma=1.0, lam=0.95, whiten=True, keep_mean=False,
         eps_low=0.2, eps_high=0.2, dual_clip=0, value_clip=0.2, vf_coef=0.1),
    dict(norm="grpo", kl_estimator="k3", kl_coef=0.1, gamma=0.99, lam=0.9, whiten=True, keep_mean=True,
         eps_low=0.2, eps_high=0.28, dual_clip=1.4, value_clip=0.15, vf_coef=0.5),
    dict(norm="dr_grpo", L=12, kl_estimator="k2", kl_coef=0.2, gamma=0.95, lam=1.0, whiten=False, keep_mean=False,
         eps_low=0.1, eps_high=0.3, dual_clip=0, value_clip=0.3, vf_coef=1.0),
]
GRPO = [dict(norm=n, L=12, beta=b, eps_low=0.2, eps_high=eh) for n in ("grpo", "dapo", "dr_grpo")
        for b in (0.0, 0.04) for eh in ((0.2, 0.28) if n == "dapo" else (0.2,))]
GRPO += [dict(norm="grpo", beta=0.04, eps_low=0.2, eps_high=0.2, no_scale=True),
         dict(norm="dr_grpo", L=9, beta=0.0, eps_low=0.2, eps_high=0.2, no_scale=True),
         dict(norm="grpo", beta=0.1, eps_low=0.2, eps_high=0.2, no_old=True),
         dict(norm="dapo", beta=0.04, eps_low=0.2, eps_high=0.28, dual_clip=1.3)]


def main(workdir):
    rng = np.random.default_rng(5)
    x = make_inputs(rng)
    path = os.path.join(workdir, "inputs.safetensors")
    st.write(path, x)
    for c in PPO:
        got, r = baimo("ppo", path, c, workdir)
        if got is None:
            failures.append(f"ppo {c}: baimo failed: {r.stderr.strip()}")
            continue
        compare(f"ppo {c['norm']} {c['kl_estimator']} whiten {c['whiten']} dual {c['dual_clip']}", got, torch_ppo(x, c))
    for c in GRPO:
        got, r = baimo("grpo", path, dict(c, group_size=G), workdir)
        if got is None:
            failures.append(f"grpo {c}: baimo failed: {r.stderr.strip()}")
            continue
        compare(f"grpo {c}", got, torch_grpo(x, c))

    # micro-batches: rows 0..4 and 5..7 (the cut inside a group: the parts get the whole batch's group
    # advantages as the tensor "advantages") with the whole batch's counts add up to the whole batch
    for norm in ("grpo", "dapo", "dr_grpo"):
        c = dict(norm=norm, L=12, beta=0.04, eps_low=0.2, eps_high=0.28)
        whole = torch_grpo(x, c)
        adv = whole["advantages"].numpy().astype(np.float32)
        total, grads = 0.0, []
        for rows in (slice(0, 5), slice(5, N)):
            part = {k: v[rows] for k, v in x.items() if k != "rewards"}
            ppath = os.path.join(workdir, "part.safetensors")
            st.write(ppath, dict(part, advantages=adv[rows]))
            got, r = baimo("grpo", ppath, c, workdir,
                           ["--global-responses", str(N), "--global-tokens", str(int(x["mask"].sum()))])
            if got is None:
                failures.append(f"micro-batch {norm} rows {rows}: baimo failed: {r.stderr.strip()}")
                continue
            want = torch_grpo(x, c, rows, n_g=N, tokens_g=float(x["mask"].sum()))
            relative_check(failures, f"micro-batch {norm} rows {rows}: loss", got["loss"], [want["loss"].item()], TOL)
            total += float(got["loss"][0])
            grads.append(got["grad_logp"])
        if len(grads) != 2:
            continue
        e1 = relative_check(failures, f"micro-batch {norm}: sum of parts", [total], [whole["loss"].item()], TOL)
        e2 = relative_check(failures, f"micro-batch {norm}: gradients", np.concatenate(grads),
                            whole["grad_logp"].numpy(), TOL)
        print(f"micro-batch {norm}: parts {total:.6f} whole {whole['loss'].item():.6f}, relative errors {e1:.2e} "
              f"(loss), {e2:.2e} (gradient)")

    # clear errors
    no_ref = os.path.join(workdir, "no_ref.safetensors")
    st.write(no_ref, {k: v for k, v in x.items() if k != "ref_logp"})
    _, r = baimo("grpo", no_ref, dict(norm="grpo", beta=0.04, group_size=G), workdir)
    if r.returncode != 1 or "reference log-probs" not in r.stderr:
        failures.append(f"missing ref_logp: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    _, r = baimo("grpo", path, dict(norm="bnpo", group_size=G), workdir)
    if r.returncode != 1 or "grpo, dapo, dr_grpo" not in r.stderr:
        failures.append(f"bad norm: exit {r.returncode}, stderr {r.stderr.strip()!r}")


# ---- through a tiny model ----
ROWS = [(3, 9), (5, 4), (2, 11), (6, 7)]  # (prompt, response) tokens per row; rows of MT = 16 slots
MT = 16


def run_model(name, cfg, workdir):
    rng = np.random.default_rng(11)
    model_dir, weights = random_model(BAIMO, cfg, workdir, rng)
    V = cfg["vocab_size"]
    ids = np.zeros((len(ROWS), MT), np.int64)
    targets = np.full((len(ROWS), MT), -100, np.int64)
    for i, (p, r) in enumerate(ROWS):
        full = rng.integers(0, V, p + r + 1)
        ids[i, :p + r] = full[:-1]
        targets[i, p - 1:p + r] = full[p:]  # the response tokens are the targets from the prompt's end on
    mask = (targets != -100).astype(np.float64)
    tg = torch.from_numpy(targets)

    def token_logps(model):
        lg = model.logits(torch.from_numpy(ids))
        return torch.log_softmax(lg, -1).gather(-1, tg.clamp(min=0)[..., None])[..., 0] * torch.from_numpy(mask)

    with torch.no_grad():
        lp0 = token_logps(Reference(cfg, weights)).numpy()
    old = (lp0 + rng.normal(0.0, 0.3, lp0.shape) * mask).astype(np.float32)
    ref = (lp0 + rng.normal(0.0, 0.4, lp0.shape) * mask).astype(np.float32)
    rewards = torch.tensor([1.0, 0.0, 0.3, 0.9], dtype=torch.float64)
    adv = ((rewards - rewards.view(-1, 2).mean(1).repeat_interleave(2)) /
           (rewards.view(-1, 2).std(1).repeat_interleave(2) + 1e-4)).numpy().astype(np.float32)
    rl_path = os.path.join(workdir, "rl.safetensors")
    st.write(rl_path, dict(input_ids=ids, targets=targets, advantages=adv, old_logps=old, ref_logps=ref))
    for norm in ("grpo", "dapo", "dr_grpo"):
        c = dict(norm=norm, L=MT, beta=0.04, eps_low=0.2, eps_high=0.28)
        dump = os.path.join(workdir, f"dump_{norm}")
        cmd = [BAIMO, "train-step", "--model", model_dir, "--rl", rl_path, "--rl-norm", norm, "--beta", "0.04",
               "--eps-low", "0.2", "--eps-high", "0.28", "--max-completion-length", str(MT), "--steps", "1",
               "--dump-dir", dump]
        r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
        tag = f"{name} model grpo {norm}"
        if r.returncode != 0:
            failures.append(f"{tag}: baimo train-step --rl failed: {r.stderr.strip()}")
            continue
        got, got_grads = st.read(os.path.join(dump, "outputs.safetensors")), st.read(os.path.join(dump, "grads.safetensors"))
        model = Reference(cfg, weights)
        lp = token_logps(model)
        m = torch.from_numpy(mask)
        a = torch.from_numpy(adv).double()[:, None].expand(-1, MT)
        pg, _ = policy_term(lp, torch.from_numpy(old).double(), a, 0.2, 0.28, 0)
        per_token = pg + 0.04 * kl_estimate(lp, torch.from_numpy(ref).double(), "k3")
        loss = normalise(per_token, m, norm, max_len=MT)
        loss.backward()
        errs = {"loss": relative_check(failures, f"{tag}: loss", got["loss"][:1], [loss.item()], TOL),
                "logps": relative_check(failures, f"{tag}: logps", got["logps"], lp.detach().numpy(), TOL)}
        if set(got_grads) != set(model.params):
            failures.append(f"{tag}: gradient names differ: {set(got_grads) ^ set(model.params)}")
        for k, p in model.params.items():
            if k in got_grads:
                errs["grad " + k] = relative_check(failures, f"{tag}: grad {k}", got_grads[k], p.grad.numpy(), TOL)
        worst = max(errs, key=errs.get)
        print(f"{tag}: loss {got['loss'][0]:.6f}, {len(errs)} comparisons, worst relative error {errs[worst]:.2e} "
              f"({worst})")

    # clear errors: the advantages missing; beta > 0 without the reference log-probs
    base = [BAIMO, "train-step", "--model", model_dir, "--steps", "1"]
    for needle, tensors, beta in (("advantages", dict(input_ids=ids, targets=targets), "0"),
                                  ("reference log-probs", dict(input_ids=ids, targets=targets, advantages=adv), "0.04")):
        bad = os.path.join(workdir, "bad_rl.safetensors")
        st.write(bad, tensors)
        r = subprocess.run(base + ["--rl", bad, "--beta", beta], capture_output=True, text=True)
        if r.returncode != 1 or needle not in r.stderr:
            failures.append(f"{name}: --rl without {needle}: exit {r.returncode}, stderr {r.stderr.strip()!r}")


if __name__ == "__main__":
    BAIMO = os.path.abspath(sys.argv[1])
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="baimo_rl_ref_") as d:
        main(d)
    for name, cfg in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="baimo_rl_ref_") as d:
            run_model(name, cfg, d)
    if failures:
        print("FAILED:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("OK")
