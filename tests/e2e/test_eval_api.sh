#!/usr/bin/env bash
# baimo eval run --api end to end: base-small (the shared 10M qwen2 with ChatML tokens) served by
# `baimo serve` on a free loopback port, scored over the OpenAI API -- multiple choice through
# /v1/completions with echo + logprobs + max_tokens 0, generation through /v1/chat/completions
# (and /v1/completions with --raw) -- and the same tasks (a Chinese one too: byte offsets inside
# characters) scored locally with --model: the same
# acc / acc_norm / acc_norm_chars / exact_match values (greedy), the same per-example
# log-likelihoods (within float rounding), the same samples with --samples 2 (same seeds). Then
# clear errors: an unreachable URL, an unknown --api-model (the server's 404), --api with --model.
# Usage: bash test_eval_api.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
MODEL="$SHARED/models/base-small-zh-en"
PY=/usr/bin/python3
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"
export OMP_NUM_THREADS=2
[ -f "$MODEL/config.json" ] || fail "no shared model at $MODEL"

start_server --model "$MODEL" --model-name small --parallel 4
API="$BASE/v1"

COMMON=(--tasks arith_mc,reverse_mc_zh,arith_gen --limit 8 --shots 1 --max-tokens 8 --batch 4)
"$BAIMO" eval run --model "$MODEL" "${COMMON[@]}" --out "$T/local.json" --log-samples "$T/local.jsonl" \
  >"$T/local.txt" 2>"$T/local.err" || { cat "$T/local.err"; fail "eval run --model"; }
"$BAIMO" eval run --api "$API" "${COMMON[@]}" --out "$T/api.json" --log-samples "$T/api.jsonl" \
  >"$T/api.txt" 2>"$T/api.err" || { cat "$T/api.err"; tail -5 "$T/server.log"; fail "eval run --api"; }
cat "$T/api.txt"
RAW=(--tasks arith_gen --limit 6 --raw --max-tokens 6)
"$BAIMO" eval run --model "$MODEL" "${RAW[@]}" --out "$T/local_raw.json" >/dev/null 2>&1 || fail "eval run --model --raw"
"$BAIMO" eval run --api "$API" --api-model small "${RAW[@]}" --out "$T/api_raw.json" >/dev/null 2>"$T/raw.err" ||
  { cat "$T/raw.err"; fail "eval run --api --raw"; }
SAMPLED=(--tasks arith_gen --limit 4 --samples 2 --temperature 1.0 --max-tokens 6)
"$BAIMO" eval run --model "$MODEL" "${SAMPLED[@]}" --out "$T/local_k.json" --log-samples "$T/local_k.jsonl" >/dev/null 2>&1 || fail "eval run --samples"
"$BAIMO" eval run --api "$API" "${SAMPLED[@]}" --out "$T/api_k.json" --log-samples "$T/api_k.jsonl" >/dev/null 2>"$T/k.err" ||
  { cat "$T/k.err"; fail "eval run --api --samples"; }

$PY - "$T" <<'PYEOF' || exit 1
import json, sys
T = sys.argv[1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL " + msg)
        ok = False
def metrics(path):
    j = json.load(open(path))
    return j, j["results"]
for local, api, names in [("local", "api", ["acc", "acc_norm", "acc_norm_chars", "exact_match", "no_answer", "eos_rate", "mean_tokens"]),
                          ("local_raw", "api_raw", ["exact_match", "no_answer", "eos_rate", "mean_tokens"]),
                          ("local_k", "api_k", ["exact_match", "pass@1", "pass@2", "eos_rate", "mean_tokens"])]:
    lj, lr = metrics(f"{T}/{local}.json")
    aj, ar = metrics(f"{T}/{api}.json")
    check(set(lr) == set(ar), f"{api}: tasks {sorted(ar)} != {sorted(lr)}")
    for task in lr:
        for m in names:
            if m not in lr[task]["metrics"]:
                continue
            lv, av = lr[task]["metrics"][m]["value"], ar[task]["metrics"].get(m, {}).get("value")
            check(av == lv, f"{api}: {task} {m}: api {av} != local {lv}")
            check(ar[task]["metrics"][m]["n"] == lr[task]["metrics"][m]["n"], f"{api}: {task} {m}: n differs")
    check(aj["model"] == "small", f"{api}: model {aj['model']}")
    check(aj["settings"].get("api", "").startswith("http://127.0.0.1:") and aj["settings"]["api"].endswith("/v1"),
          f"{api}: settings.api {aj['settings'].get('api')}")
_, ar = metrics(f"{T}/api.json")
check("eot_rate" in ar["arith_gen"]["metrics"], "no eot_rate over the API (chat answers)")
# Per example: the same log-likelihoods and answers.
def by_key(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        out[(r["task"], r["index"])] = r
    return out
l, a = by_key(f"{T}/local.jsonl"), by_key(f"{T}/api.jsonl")
check(set(l) == set(a), "log-samples: different examples")
worst = 0.0
for k in l:
    if "loglik" in l[k]:
        for x, y in zip(l[k]["loglik"], a[k]["loglik"]):
            worst = max(worst, abs(x - y))
            check(abs(x - y) <= 1e-3 * max(1.0, abs(x)), f"{k}: loglik api {y} vs local {x}")
        check(l[k]["choice_bytes"] == a[k]["choice_bytes"], f"{k}: choice_bytes differ")
        check(l[k]["pred"] == a[k]["pred"], f"{k}: pred differs")
    else:
        check([s["text"] for s in l[k]["samples"]] == [s["text"] for s in a[k]["samples"]], f"{k}: answers differ")
        check(isinstance(a[k]["prompt"], list) and a[k]["prompt"][-1]["role"] == "user", f"{k}: api prompt log")
# Sampled answers: the same seeds give the same texts.
l, a = by_key(f"{T}/local_k.jsonl"), by_key(f"{T}/api_k.jsonl")
for k in l:
    check([s["text"] for s in l[k]["samples"]] == [s["text"] for s in a[k]["samples"]], f"{k}: sampled answers differ")
if not ok:
    sys.exit(1)
for name in ("api", "api_raw", "api_k"):
    for task, r in json.load(open(f"{T}/{name}.json"))["results"].items():
        print(name, task, {m: round(v["value"], 4) for m, v in r["metrics"].items()})
print(f"api and local agree (largest log-likelihood difference {worst:.2e})")
PYEOF

# Errors: unreachable server, the server's 4xx, excluded options.
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
out=$("$BAIMO" eval run --api "http://127.0.0.1:$PORT/v1" --tasks arith_mc --limit 2 2>&1) && fail "unreachable server accepted"
grep -q "http://127.0.0.1:$PORT/v1/models: cannot reach the server" <<<"$out" || fail "unclear unreachable error: $out"
out=$("$BAIMO" eval run --api "$API" --api-model nope --tasks arith_mc --limit 2 2>&1) && fail "unknown model accepted"
grep -q "$API/completions: HTTP 404" <<<"$out" && grep -q "nope" <<<"$out" || fail "unclear 404 error: $out"
out=$("$BAIMO" eval run --api "$API" --model "$MODEL" --tasks arith_mc 2>&1) && fail "--api with --model accepted"
grep -q "excludes" <<<"$out" || fail "unclear --api/--model error: $out"
out=$("$BAIMO" eval run --api "$API" --dtype f16 --tasks arith_mc 2>&1) && fail "--api with --dtype accepted"
out=$("$BAIMO" eval run --api "ftp://x/v1" --tasks arith_mc 2>&1) && fail "ftp URL accepted"
grep -q "expected http://" <<<"$out" || fail "unclear URL error: $out"
out=$("$BAIMO" eval run --tasks arith_mc 2>&1) && fail "no model accepted"
grep -q -- "--api URL" <<<"$out" || fail "unclear missing-model error: $out"

stop_server
echo "eval api e2e ok"
