#!/usr/bin/env bash
# `baimo eval run`'s multiple-choice log-likelihoods equal llama.cpp's on the same GGUF (issue 16:
# "scoring checked against llama.cpp's log-probs on the same GGUF").
# The shared 10M qwen2 model (base-small-zh-en) becomes an f32 GGUF (`baimo convert`) and a Q8_0 one
# (`baimo quantize`); `baimo eval run` scores arith_mc and reverse_mc_zh (20 examples each, 0-shot)
# on each file, and 10 of each 5-shot on the f32 one (~140-token contexts), with --log-samples,
# which logs every example's context_ids, choice_ids (the exact token ids it scored) and per-choice
# loglik. tests/e2e/gguf_js/mc_logprobs.mjs has llama.cpp (node-llama-cpp
# 3.22.1's prebuilt CPU binaries; raw logits, f32 KV cache, log-softmax in float64) score the same
# ids on the same file. Required:
#   f32:  every choice's log-likelihood within 1e-3 of llama.cpp's (measured: ~1.7e-5), the same
#         predicted choice on every example, and acc / acc_norm / acc_norm_chars recomputed from
#         llama.cpp's log-likelihoods equal to baimo's results JSON.
#   Q8_0: the two engines' int8 kernels differ: both quantize activations to int8 blocks of 32, but
#         llama.cpp stores each block's scale as f16 and multiplies by it, baimo keeps it in f32
#         (kernels/cpu/act_quant.h): a per-block relative error up to 2^-11 (plus rounding ties)
#         that grows through 8 layers and the 16384-row Q8_0 (tied) lm head. Rounding to int8 is
#         also discontinuous: f32-level differences (the ~1e-5 above) move single activation quants
#         by one step. (Measured once with baimo's activation scale rounded to f16 as llama.cpp does,
#         a change not kept: median 0.017 -> 0.009, max 0.13 -> 0.08.)
#         Measured: median |diff| ~0.017, max ~0.13 (0.5% relative), against ~0.04 / ~0.36 between
#         f32 and Q8_0 in either engine. Required: every |diff| <= 0.3 and <= 2% of |loglik|, median
#         <= 0.05, and the same predicted choice on >= 95% of examples (measured: all).
# Skips (exit 0 with SKIP) when node is missing or node-llama-cpp cannot be installed (no registry),
# as test_gguf_conformance.sh does.
# Usage: bash test_eval_llamacpp.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
JS=$ROOT/tests/e2e/gguf_js
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
MODEL=$SHARED/models/base-small-zh-en
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed: no llama.cpp to compare with"; exit 0; }
[ -f "$MODEL/config.json" ] || fail "no shared model at $MODEL (set BAIMO_SHARED)"
source "$JS/ensure_packages.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=2

"$BAIMO" convert "$MODEL" "$T/f32.gguf" >/dev/null 2>&1 || fail "convert"
"$BAIMO" quantize --model "$MODEL" --type q8_0 --out "$T/q8_0.gguf" >/dev/null 2>&1 || fail "quantize q8_0"
# NAME FILE SHOTS LIMIT; llama.cpp (one thread each) scores a run while baimo does the next.
pids=()
for run in "f32 f32 0 20" "f32_5shot f32 5 10" "q8_0 q8_0 0 20"; do
  read -r name f shots limit <<<"$run"
  "$BAIMO" eval run --model "$T/$f.gguf" --tasks arith_mc,reverse_mc_zh --limit "$limit" --shots "$shots" --threads 2 \
    --log-samples "$T/$name.samples.jsonl" --out "$T/$name.results.json" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "eval run $name"; }
  node "$JS/mc_logprobs.mjs" "$T/$f.gguf" "$T/$name.samples.jsonl" >"$T/$name.llama.jsonl" 2>"$T/$name.err" &
  pids+=("$!:$name")
done
for p in "${pids[@]}"; do
  wait "${p%%:*}" || { cat "$T/${p#*:}.err"; fail "llama.cpp scoring ${p#*:}"; }
done

$PY - "$T" <<'PYEOF'
import json, statistics, sys
T = sys.argv[1]

def argmax(v):
    return max(range(len(v)), key=lambda k: (v[k], -k))  # first maximum, as baimo and lm-eval

def check(fmt):
    mine = [json.loads(l) for l in open(f"{T}/{fmt}.samples.jsonl")]
    theirs = [json.loads(l)["loglik"] for l in open(f"{T}/{fmt}.llama.jsonl")]
    results = json.load(open(f"{T}/{fmt}.results.json"))["results"]
    assert len(mine) == len(theirs) == (20 if fmt == "f32_5shot" else 40), (len(mine), len(theirs))
    diffs, rel, agree, acc = [], [], 0, {}
    for r, ll in zip(mine, theirs):
        assert r["choice_ids"] and len(ll) == len(r["loglik"]) == len(r["choice_ids"]), r["index"]
        for a, b in zip(r["loglik"], ll):
            diffs.append(abs(a - b))
            rel.append(abs(a - b) / max(abs(a), 1e-9))
        norm = [x / max(1, n) for x, n in zip(ll, r["choice_bytes"])]
        norm_chars = [x / max(1, n) for x, n in zip(ll, r["choice_chars"])]
        preds = {"acc": argmax(ll), "acc_norm": argmax(norm), "acc_norm_chars": argmax(norm_chars)}
        agree += preds["acc"] == r["pred"]
        for m, p in preds.items():
            acc.setdefault((r["task"], m), []).append(p == r["gold"])
    worst, med = max(diffs), statistics.median(diffs)
    print(f"{fmt}: {len(diffs)} choices, max |diff| {worst:.3g}, median {med:.3g}, max relative {max(rel):.3g}, "
          f"same prediction {agree}/{len(mine)}")
    accs = ", ".join(f"{t} {m} {sum(v) / len(v):.2f} (baimo {results[t]['metrics'][m]['value']:.2f})"
                     for (t, m), v in acc.items() if m == "acc")
    print(f"{fmt}: llama.cpp's {accs}")
    if fmt.startswith("f32"):
        assert worst <= 1e-3, f"f32: log-likelihoods differ by up to {worst}"
        assert agree == len(mine), f"f32: predictions differ on {len(mine) - agree} examples"
        for (task, m), v in acc.items():
            want = results[task]["metrics"][m]["value"]
            got = sum(v) / len(v)
            assert abs(got - want) < 1e-12, f"f32: {task} {m}: llama.cpp {got} vs baimo {want}"
    else:
        assert worst <= 0.3 and max(rel) <= 0.02, f"{fmt}: log-likelihoods differ by up to {worst} ({max(rel)} relative)"
        assert med <= 0.05, f"{fmt}: median difference {med}"
        assert agree >= 0.95 * len(mine), f"{fmt}: predictions agree on only {agree}/{len(mine)}"

check("f32")
check("f32_5shot")
check("q8_0")
PYEOF
echo "PASS"
