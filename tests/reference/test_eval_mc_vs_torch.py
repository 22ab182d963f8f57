#!/usr/bin/env python3
"""`baimo eval run` multiple-choice scores against a PyTorch computation of the same log-likelihoods
(lm-evaluation-harness's method) on a tiny random model.

A Qwen2-style model (GQA, q/k/v bias, tied embeddings) with the shared bilingual tokenizer
(../shared/models/base-small-zh-en/tokenizer.json) is made by `baimo init`; every parameter is then
replaced by random values (written by our own safetensors writer). A fixed set of questions (ARC
style with "question", HellaSwag style with "query", English and Chinese, and a C-Eval CSV) is scored
by `baimo eval run --log-samples` with a batch of 3 slots (so questions are split across engine steps).
PyTorch (torch_reference_model.py, float64) then:
  - encodes each pair the lm-eval way with `baimo tokenizer encode` (context = the text with its
    trailing whitespace moved to the continuation; continuation ids = encode(context + continuation)
    minus the encode(context) prefix) and checks that baimo used exactly these ids;
  - computes each choice's sum of continuation log-probs given the context; the sums must agree
    within 1e-4, and acc / acc_norm (sum / UTF-8 bytes of the continuation) / acc_norm_chars (sum /
    characters) must be identical, per example and in the results JSON (value, n, stderr).
Usage: /usr/bin/python3 test_eval_mc_vs_torch.py path/to/baimo"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
from torch_reference_model import Reference  # noqa: E402

BAIMO = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("BAIMO_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
TOKENIZER = os.path.join(SHARED, "models", "base-small-zh-en", "tokenizer.json")

CFG = {
    "model_type": "qwen2", "vocab_size": 16384, "hidden_size": 48, "intermediate_size": 80,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 128, "rope_theta": 10000.0, "rms_norm_eps": 1e-6,
    "initializer_range": 0.1, "tie_word_embeddings": True, "hidden_act": "silu",
    "bos_token_id": None, "eos_token_id": 16381,
}

JSONL = [
    {"question": "What color is the sky on a clear day?", "choices": {"text": ["blue", "green", "red", "black"], "label": ["A", "B", "C", "D"]}, "answerKey": "A", "label": "A"},
    {"question": "Which animal barks?", "choices": ["a cat", "a dog", "a fish"], "gold": 1},
    {"query": "She put the kettle on the stove and", "choices": ["waited for it to boil.", "flew to the moon.", "it.", "read a very long book about kettles."], "gold": 0},
    {"question": "一年有几个季节？", "choices": ["四个", "三个", "十二个"], "label": 0},
    {"query": "床前明月光，", "choices": ["疑是地上霜。", "春眠不觉晓。"], "gold": 0},
    {"question": "2 + 3 = ?", "choices": ["5", "6", "23", "32"], "gold": 0},
    {"query": "The cat sat on the ", "choices": ["mat", "dog", "moon"], "gold": 0},  # trailing space moves
]
CSV_ROWS = [
    ["id", "question", "A", "B", "C", "D", "answer"],
    ["0", "中国的首都是哪里？", "上海", "北京", "广州", "深圳", "B"],
    ["1", "水的化学式是", "H2O", "CO2", "O2", "NaCl", "A"],
]

failures = []
max_err = [0.0]


def encode(model_dir, text):
    r = subprocess.run([BAIMO, "tokenizer", "encode", "--tokenizer", model_dir, "--json"], input=text.encode(),
                       capture_output=True, check=True)
    return json.loads(r.stdout)


def prompt_of(ex):
    """The context and continuations lm-eval builds (mc_reader.h's templates)."""
    if "A" in ex:
        ctx = ex["question"].rstrip() + "".join(f"\n{k}. {ex[k]}" for k in "ABCD") + "\n答案："
        return ctx, ["A", "B", "C", "D"], "ABCD".index(ex["answer"])
    ctx = ex["query"] if "query" in ex else "Question: " + ex["question"] + "\nAnswer:"
    ch = ex["choices"]
    texts = ch["text"] if isinstance(ch, dict) else ch
    g = ex.get("gold", ex.get("label"))
    if isinstance(g, str):
        g = ch["label"].index(g)
    return ctx, [" " + t for t in texts], g


def check_task(name, examples, model_dir, ref, samples, result):
    acc, acc_norm, acc_chars = [], [], []
    logged = [s for s in samples if s["task"] == name]
    if len(logged) != len(examples):
        failures.append(f"{name}: {len(logged)} logged examples, expected {len(examples)}")
        return
    for i, (ex, s) in enumerate(zip(examples, logged)):
        ctx, conts, gold = prompt_of(ex)
        stripped = ctx.rstrip()
        moved = ctx[len(stripped):]
        ctx_ids = encode(model_dir, stripped)
        if s["context_ids"] != ctx_ids:
            failures.append(f"{name}[{i}]: context ids {s['context_ids']} != {ctx_ids}")
        if s["gold"] != gold:
            failures.append(f"{name}[{i}]: gold {s['gold']} != {gold}")
        sums, nbytes, nchars = [], [], []
        for j, c in enumerate(conts):
            whole = encode(model_dir, stripped + moved + c)
            cont_ids = whole[len(ctx_ids):]
            if s["choice_ids"][j] != cont_ids:
                failures.append(f"{name}[{i}] choice {j}: ids {s['choice_ids'][j]} != {cont_ids}")
            ids = torch.tensor([ctx_ids + cont_ids])
            with torch.no_grad():
                lp = torch.log_softmax(ref.logits(ids)[0], -1)
            total = sum(float(lp[len(ctx_ids) + k - 1, t]) for k, t in enumerate(cont_ids))
            sums.append(total)
            nbytes.append(len((moved + c).encode()))
            nchars.append(len(moved + c))
            max_err[0] = max(max_err[0], abs(s["loglik"][j] - total))
            if abs(s["loglik"][j] - total) > 1e-4:
                failures.append(f"{name}[{i}] choice {j}: log-likelihood {s['loglik'][j]} != torch {total}")
        pred = int(np.argmax(sums))
        pred_norm = int(np.argmax([x / b for x, b in zip(sums, nbytes)]))
        pred_chars = int(np.argmax([x / c for x, c in zip(sums, nchars)]))
        if s["choice_bytes"] != nbytes:
            failures.append(f"{name}[{i}]: choice bytes {s['choice_bytes']} != {nbytes}")
        if s["choice_chars"] != nchars:
            failures.append(f"{name}[{i}]: choice characters {s['choice_chars']} != {nchars}")
        if s["pred"] != pred or s["pred_norm"] != pred_norm or s["pred_norm_chars"] != pred_chars:
            failures.append(f"{name}[{i}]: baimo pred {s['pred']}/{s['pred_norm']}/{s['pred_norm_chars']}, "
                            f"torch {pred}/{pred_norm}/{pred_chars}")
        acc.append(float(pred == gold))
        acc_norm.append(float(pred_norm == gold))
        acc_chars.append(float(pred_chars == gold))
    n = len(acc)
    for metric, v in (("acc", acc), ("acc_norm", acc_norm), ("acc_norm_chars", acc_chars)):
        got = result["results"][name]["metrics"][metric]
        mean = sum(v) / n
        se = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1) / n)
        if got["value"] != mean or got["n"] != n or abs(got["stderr"] - se) > 1e-12:
            failures.append(f"{name} {metric}: baimo {got}, torch value {mean} stderr {se} n {n}")
    print(f"{name}: {n} questions, acc {sum(acc) / n:.3f}, acc_norm {sum(acc_norm) / n:.3f}")


def main():
    if not os.path.exists(TOKENIZER):
        print(f"FAIL: {TOKENIZER} missing (set BAIMO_SHARED)")
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="baimo_evalref_") as d:
        cfg_path, model_dir = os.path.join(d, "config.json"), os.path.join(d, "model")
        json.dump(CFG, open(cfg_path, "w"))
        subprocess.run([BAIMO, "init", "--config", cfg_path, "--tokenizer", TOKENIZER, "--out", model_dir, "--seed", "3"],
                       check=True, capture_output=True)
        weights = st.read(os.path.join(model_dir, "model.safetensors"))
        rng = np.random.default_rng(5)
        for k, w in weights.items():
            base = 1.0 if k.endswith("norm.weight") else 0.0
            weights[k] = (base + rng.normal(0.0, 0.2 if base else 0.15, w.shape)).astype(np.float32)
        st.write(os.path.join(model_dir, "model.safetensors"), weights)
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        ref = Reference(cfg, {k: v.astype(np.float64) for k, v in weights.items()})

        jl, cv = os.path.join(d, "mixed.jsonl"), os.path.join(d, "ceval.csv")
        with open(jl, "w") as f:
            for ex in JSONL:
                f.write(json.dumps(ex, ensure_ascii=False) + "\n")
        with open(cv, "w", newline="") as f:
            csv.writer(f).writerows(CSV_ROWS)
        out, log = os.path.join(d, "results.json"), os.path.join(d, "samples.jsonl")
        r = subprocess.run([BAIMO, "eval", "run", "--model", model_dir, "--tasks", f"{jl},{cv}", "--batch", "3",
                            "--out", out, "--log-samples", log], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: baimo eval run exited {r.returncode}: {r.stderr}")
            sys.exit(1)
        print(r.stdout)
        result = json.load(open(out))
        samples = [json.loads(x) for x in open(log)]
        check_task("mixed", JSONL, model_dir, ref, samples, result)
        ceval = [dict(zip(CSV_ROWS[0], row)) for row in CSV_ROWS[1:]]
        check_task("ceval", ceval, model_dir, ref, samples, result)
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"largest log-likelihood difference {max_err[0]:.2e}")
    print("OK: multiple-choice log-likelihoods, acc and acc_norm match PyTorch")


if __name__ == "__main__":
    main()
