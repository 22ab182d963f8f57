"""Anchor for bench/rollout: the rollout loop a PyTorch 1.13 user would write for the same model directory
(../train_step/torch_packed.py's loader and torch_llama.Llama's modules): the prompts as one batch (same
length, no padding), a preallocated per-layer KV cache (B, KV, T, D), one prefill forward, then one forward
per new token for the whole batch (the new token's q/k/v, RoPE at its position, the cached K/V repeated for
GQA, softmax attention), temperature-1 sampling with torch.multinomial and the sampled tokens' log-probs
gathered (what PPO / GRPO keep), under torch.no_grad(). No EOS stop: every row generates --new tokens.
Prompts: row p is ids (1 + 131 p + 17 j) mod V, j < --prompt-len (as bench_rollout.cpp builds them).
Prints one JSON line per repetition after a warm-up (8 new tokens): {"tokens": generated, "seconds": s}."""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train_step"))
from torch_llama import rope_tables, rotate_half  # noqa: E402
from torch_packed import load_model  # noqa: E402


def synthetic_prompts(cfg, B, P):
    """Row p is ids (1 + 131 p + 17 j) mod V, j < P (as bench_rollout.cpp and bench_grpo.cpp build them)."""
    return torch.tensor([[(1 + 131 * p + 17 * j) % cfg.vocab for j in range(P)] for p in range(B)], dtype=torch.long)


def attention(cfg, attn, x, pos, kc, vc, cos_all, sin_all):
    """x (B, T, C) at positions pos..pos+T-1; writes K/V into the caches, attends over 0..pos+T-1."""
    Bx, T, _ = x.shape
    q = attn.q_proj(x).view(Bx, T, cfg.heads, cfg.head_dim).transpose(1, 2)
    k = attn.k_proj(x).view(Bx, T, cfg.kv_heads, cfg.head_dim).transpose(1, 2)
    v = attn.v_proj(x).view(Bx, T, cfg.kv_heads, cfg.head_dim).transpose(1, 2)
    cos, sin = cos_all[pos:pos + T], sin_all[pos:pos + T]
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    kc[:, :, pos:pos + T] = k
    vc[:, :, pos:pos + T] = v
    keys, vals = kc[:, :, :pos + T], vc[:, :, :pos + T]
    rep = cfg.heads // cfg.kv_heads
    if rep > 1:
        keys = keys.repeat_interleave(rep, dim=1)
        vals = vals.repeat_interleave(rep, dim=1)
    att = (q @ keys.transpose(-1, -2)) / math.sqrt(cfg.head_dim)
    if T > 1:
        mask = torch.triu(torch.ones(T, pos + T, dtype=torch.bool), diagonal=pos + 1)
        att = att.masked_fill(mask, float("-inf"))
    y = (att.softmax(-1) @ vals).transpose(1, 2).reshape(Bx, T, cfg.heads * cfg.head_dim)
    return attn.o_proj(y)


def rollout(cfg, model, prompts, new, seed):
    """Samples `new` tokens (temperature 1, no EOS stop) after each row of prompts (B, P) with a KV cache,
    under torch.no_grad(): (tokens (B, new), their log-probs (B, new))."""
    torch.manual_seed(seed)
    B, P = prompts.shape
    T_max = P + new
    cos_all, sin_all = rope_tables(cfg, T_max)
    head_w = model.embed_tokens.weight if model.lm_head is None else model.lm_head.weight
    caches = [(torch.zeros(B, cfg.kv_heads, T_max, cfg.head_dim), torch.zeros(B, cfg.kv_heads, T_max, cfg.head_dim))
              for _ in model.layers]

    def forward(ids, pos):
        """Logits of the last position of each row (B, V)."""
        x = model.embed_tokens(ids)
        for layer, (kc, vc) in zip(model.layers, caches):
            x = x + attention(cfg, layer.self_attn, layer.input_layernorm(x), pos, kc, vc, cos_all, sin_all)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return model.norm(x[:, -1]) @ head_w.t()

    tokens, logprobs = [], []
    with torch.no_grad():
        logits = forward(prompts, 0)
        for t in range(new):
            lp = F.log_softmax(logits, dim=-1)
            nxt = torch.multinomial(lp.exp(), 1)  # (B, 1)
            tokens.append(nxt)
            logprobs.append(lp.gather(1, nxt))
            if t + 1 < new:
                logits = forward(nxt, P + t)
    return torch.cat(tokens, 1), torch.cat(logprobs, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg, model = load_model(a.model)
    model.eval()
    prompts = synthetic_prompts(cfg, a.prompts, a.prompt_len)
    rollout(cfg, model, prompts, min(a.new, 8), 0)  # a short warm-up
    for rep in range(a.reps):
        t0 = time.perf_counter()
        toks, _ = rollout(cfg, model, prompts, a.new, rep + 1)
        s = time.perf_counter() - t0
        print(json.dumps({"tokens": toks.numel(), "seconds": s}), flush=True)


if __name__ == "__main__":
    main()
