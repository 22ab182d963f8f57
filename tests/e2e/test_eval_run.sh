#!/usr/bin/env bash
# baimo eval run (issue 16) end to end on a tiny random model made here (`baimo init`, the shared
# bilingual tokenizer): built-in suites (multiple choice and generation, English and Chinese), a
# multiple-choice JSONL file and a generation JSONL file (number, exact, regex and JSON answers) with
# few-shot prompts; checks the results JSON (per task, per metric:
# value, stderr, n), the table on stdout, the appended report lines, the progress line on stderr,
# determinism for a seed, a GGUF scoring as its model directory, pass@k with --samples, --raw prompts, clear errors for a bad file and an
# unknown task, and that `baimo eval perplexity` still works.
# Usage: bash test_eval_run.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=2

cat >"$T/config.json" <<'JSON'
{"model_type": "qwen2", "vocab_size": 16384, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512, "rope_theta": 10000.0,
 "rms_norm_eps": 1e-6, "initializer_range": 0.2, "tie_word_embeddings": true, "hidden_act": "silu",
 "bos_token_id": null, "eos_token_id": 16381}
JSON
"$BAIMO" init --config "$T/config.json" --tokenizer "$SHARED/models/base-small-zh-en/tokenizer.json" \
  --out "$T/model" --seed 2 >/dev/null || fail "init"
cat >"$T/mine.jsonl" <<'JSON'
{"question": "Which is a fruit?", "choices": ["apple", "chair", "river"], "gold": 0}
{"query": "春眠不觉晓，", "choices": ["处处闻啼鸟。", "疑是地上霜。"], "label": 0}
{"question": "2 + 2 = ?", "choices": {"text": ["3", "4"], "label": ["A", "B"]}, "label": "B"}
JSON
cat >"$T/qa.jsonl" <<'JSON'
{"prompt": "What is 2 + 2?", "answer": 4}
{"prompt": "中国的首都是哪里？", "answer": "北京"}
{"prompt": "Pick A or B.", "answer": "B", "extract": "regex", "pattern": "([AB])"}
{"prompt": "Reply in JSON.", "answer": "yes", "extract": "json", "pattern": "answer"}
JSON

TASKS=arith_mc,arith_mc_zh,reverse_mc_zh,arith_gen,copy_gen_zh,reverse_gen,$T/mine.jsonl,$T/qa.jsonl
run() { "$BAIMO" eval run --model "$T/model" --tasks "$TASKS" --limit 6 --shots 2 --batch 4 --max-tokens 8 "$@"; }
run --out "$T/a.json" --report "$T/report.jsonl" >"$T/a.txt" 2>"$T/a.err" || { cat "$T/a.err"; fail "eval run"; }
run --out "$T/b.json" --report "$T/report.jsonl" >"$T/b.txt" 2>/dev/null || fail "eval run (again)"
cat "$T/a.txt"
grep -q "^task .*metric .*value .*stderr .*n$" "$T/a.txt" || fail "no table header on stdout"
grep -q "eta\|100.0%" "$T/a.err" || fail "no progress line on stderr"
"$BAIMO" eval run --model "$T/model" --tasks arith_gen,copy_gen --limit 4 --samples 4 --temperature 1.0 --max-tokens 6 \
  --out "$T/k.json" >/dev/null 2>&1 || fail "eval run --samples"
"$BAIMO" eval run --model "$T/model" --tasks arith_gen_zh --limit 4 --raw --max-tokens 6 --out "$T/raw.json" \
  >/dev/null 2>&1 || fail "eval run --raw"

$PY - "$T" <<'PYEOF' || exit 1
import json, sys
T = sys.argv[1]
a, b = json.load(open(f"{T}/a.json")), json.load(open(f"{T}/b.json"))
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL " + msg)
    ok &= bool(cond)
mc = ["arith_mc", "arith_mc_zh", "reverse_mc_zh"]
gen = ["arith_gen", "copy_gen_zh", "reverse_gen", "qa"]
check(set(a["results"]) == set(mc + gen + ["mine"]), f"tasks in the JSON: {sorted(a['results'])}")
check(a["settings"]["shots"] == 2 and a["settings"]["limit"] == 6 and a["settings"]["seed"] == 1234, "settings recorded")
for t in mc + gen + ["mine"]:
    r = a["results"][t]
    n = {"mine": 3, "qa": 4}.get(t, 6)
    want = ["acc", "acc_norm", "acc_norm_chars"] if t in mc + ["mine"] else ["exact_match", "no_answer", "eos_rate", "eot_rate", "mean_tokens"]  # a ChatML model: eot_rate too
    check(r["kind"] == ("generation" if t in gen else "multiple_choice"), f"{t}: kind {r['kind']}")
    check(r["n"] == n, f"{t}: n {r['n']} != {n}")
    check(sorted(r["metrics"]) == sorted(want), f"{t}: metrics {list(r['metrics'])}")
    for m, v in r["metrics"].items():
        check(set(v) == {"value", "stderr", "n"} and v["n"] == n, f"{t}.{m}: fields {v}")
        hi = 8 + 1 if m == "mean_tokens" else 1
        check(0 <= v["value"] <= hi and v["stderr"] >= 0, f"{t}.{m}: value {v['value']} stderr {v['stderr']}")
    check(r["metrics"] == b["results"][t]["metrics"], f"{t}: the same seed gives the same scores")
rep = [json.loads(l) for l in open(f"{T}/report.jsonl")]
check(len(rep) == 2 and all("time" in x and x["results"].keys() == a["results"].keys() for x in rep), "two report lines")
k = json.load(open(f"{T}/k.json"))
for t in ("arith_gen", "copy_gen"):
    m = k["results"][t]["metrics"]
    check(all(f"pass@{i}" in m for i in (1, 2, 4)), f"{t}: pass@1,2,4 reported: {list(m)}")
    check(m["pass@1"]["value"] <= m["pass@2"]["value"] <= m["pass@4"]["value"], f"{t}: pass@k grows with k")
    check(m["eos_rate"]["n"] == 16 and m["mean_tokens"]["n"] == 16, f"{t}: eos_rate / mean_tokens over all 16 samples")
raw = json.load(open(f"{T}/raw.json"))
check(raw["settings"]["raw"] is True and raw["results"]["arith_gen_zh"]["n"] == 4, "--raw run")
sys.exit(0 if ok else 1)
PYEOF

# A GGUF of the same weights (f32) scores the same: same log-likelihoods, same answers.
"$BAIMO" quantize --model "$T/model" --type f32 --out "$T/model.gguf" >/dev/null 2>&1 || fail "quantize"
for m in model model.gguf; do
  "$BAIMO" eval run --model "$T/$m" --tasks "$T/mine.jsonl,arith_gen" --limit 3 --max-tokens 6 \
    --log-samples "$T/$m.samples" >/dev/null 2>&1 || fail "eval run on $m"
done
$PY - "$T/model.samples" "$T/model.gguf.samples" <<'PYEOF' || fail "GGUF and model directory differ"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
assert len(a) == len(b) == 6, (len(a), len(b))
for x, y in zip(a, b):
    if "loglik" in x:
        assert max(abs(u - v) for u, v in zip(x["loglik"], y["loglik"])) < 1e-4 and x["pred"] == y["pred"], (x, y)
    else:
        assert x["samples"][0]["text"] == y["samples"][0]["text"], (x, y)
PYEOF

# Errors: a bad file names its line and field; an unknown task lists the built-in ones.
printf '{"question": "q", "choices": ["a", "b"], "gold": 0}\n{"question": "q", "choices": ["a", "b"], "gold": 5}\n' >"$T/bad.jsonl"
if "$BAIMO" eval run --model "$T/model" --tasks "$T/bad.jsonl" >/dev/null 2>"$T/err.txt"; then fail "bad file accepted"; fi
grep -q "bad.jsonl:2: field 'gold' is 5, not one of the 2 choices" "$T/err.txt" || { cat "$T/err.txt"; fail "bad-file message"; }
if "$BAIMO" eval run --model "$T/model" --tasks nope >/dev/null 2>"$T/err.txt"; then fail "unknown task accepted"; fi
grep -q "unknown built-in task 'nope'.*arith_mc_zh" "$T/err.txt" || { cat "$T/err.txt"; fail "unknown-task message"; }
for bad in "--batch 0" "--shots -1" "--samples 0" "--threads 0" "--limit -3"; do
  # shellcheck disable=SC2086
  if "$BAIMO" eval run --model "$T/model" --tasks arith_mc $bad >/dev/null 2>"$T/err.txt"; then fail "eval run $bad accepted"; fi
  grep -q -- "${bad%% *}" "$T/err.txt" || { cat "$T/err.txt"; fail "eval run $bad: the error does not name the flag"; }
done

# eval perplexity is still there.
printf 'The quick brown fox jumps over the lazy dog. 春眠不觉晓，处处闻啼鸟。\n' >"$T/text.txt"
"$BAIMO" eval perplexity --model "$T/model" --input "$T/text.txt" --ctx 64 | grep -q "^perplexity" || fail "eval perplexity"
echo "OK: eval run"
