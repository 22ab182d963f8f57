"""Anchor for bench/eval: multiple-choice scoring the way a PyTorch 1.13 user would write it for the same
model and the same items: a Hugging Face model directory in plain PyTorch (../train_step/torch_packed.py's
loader and torch_llama.Llama), under torch.no_grad(), one forward per question: its choices as rows of
context + choice[:-1], right-padded to the longest (causal attention: padding after a row does not
change it), log_softmax at the continuation positions (with --lean the LM head runs only there), the choice tokens' log-probs gathered and summed.
The items are `baimo eval run --log-samples` lines (context_ids, choice_ids: the same token ids baimo
scored). Prints one JSON line: {"seconds": time over the items after the first (warm-up) question,
"choices": choices scored in that time, "preds": argmax per item (all items)}."""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "train_step"))
from torch_llama import rope_tables  # noqa: E402
from torch_packed import load_model  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--items", required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--lean", action="store_true",
                help="the LM head only at the continuation positions (what a careful person adds), not over every row")
a = ap.parse_args()
torch.set_num_threads(a.threads)
cfg, model = load_model(a.model)
model.eval()
items = [json.loads(l) for l in open(a.items) if l.strip()]


def hidden(ids):
    """Llama.forward without its LM head: the final-norm hidden states (B, T, C)."""
    T = ids.shape[1]
    cos, sin = rope_tables(cfg, T)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    x = model.embed_tokens(ids)
    for layer in model.layers:
        x = layer(x, cos, sin, mask)
    return model.norm(x)


def score(item):
    ctx, choices = item["context_ids"], item["choice_ids"]
    rows = [ctx + c for c in choices]
    T = max(len(r) for r in rows) - 1
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    for j, r in enumerate(rows):
        ids[j, :len(r) - 1] = torch.tensor(r[:-1])
    if a.lean:
        h = hidden(ids)  # (choices, T, C)
        w = model.embed_tokens.weight if model.lm_head is None else model.lm_head.weight
    else:
        logits = model(ids)  # (choices, T, V)
    out = []
    for j, c in enumerate(choices):
        at = slice(len(ctx) - 1, len(ctx) - 1 + len(c))
        lp = F.log_softmax(h[j, at] @ w.t() if a.lean else logits[j, at], dim=-1)
        out.append(lp.gather(1, torch.tensor(c)[:, None]).sum().item())
    return max(range(len(out)), key=lambda k: out[k])


preds = []
with torch.no_grad():
    preds.append(score(items[0]))  # warm-up
    t0 = time.perf_counter()
    for it in items[1:]:
        preds.append(score(it))
    s = time.perf_counter() - t0
print(json.dumps({"seconds": s, "choices": sum(len(it["choice_ids"]) for it in items[1:]), "preds": preds}))
