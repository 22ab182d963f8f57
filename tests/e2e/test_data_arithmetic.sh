#!/usr/bin/env bash
# baimo data arithmetic end to end: the five files exist and are JSONL of the documented shapes
# (sft_train: OpenAI chat records; prefs_*: {"prompt": [user turn], "chosen", "rejected"}; eval_held_out:
# {"prompt", "answer", "extract": "exact"}; rl_train: {"prompt", "answer"} of the train problems, or with
# --rl N of N problems no other file holds, the train files unchanged), answers are right and rejected ones wrong, the same seed
# gives the same bytes (another seed other bytes), train and held-out share no problem (commutative
# ops normalised), bad flags are clear errors that write nothing, and the files feed the tools that
# read them: `baimo sft` trains 2 steps on sft_train.jsonl (a tiny model from `baimo init --config
# configs/tiny.json`) and `baimo eval run` scores eval_held_out.jsonl.
# Usage: bash test_data_arithmetic.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

"$BAIMO" data arithmetic --out "$T/a" --train 300 --held-out 60 --seed 3 --digits 2 --ops +,-,* \
  --zh-fraction 0.3 >"$T/out.txt" 2>"$T/err.txt" || { cat "$T/err.txt"; fail "data arithmetic"; }
[ "$(cat "$T/out.txt")" = "$T/a" ] || fail "stdout is not the directory: $(cat "$T/out.txt")"
[ "$(wc -l <"$T/err.txt")" -eq 1 ] || fail "summary is not one line: $(cat "$T/err.txt")"
grep -q "300 train + 60 held-out" "$T/err.txt" || fail "summary: $(cat "$T/err.txt")"
for f in sft_train prefs_train prefs_held_out eval_held_out rl_train; do
  [ -s "$T/a/$f.jsonl" ] || fail "$f.jsonl missing"
done
[ -z "$(find "$T/a" -name '*.tmp.*')" ] || fail "temporary files left"

$PY - "$T/a" <<'PY' || fail "file shapes"
import json, sys, re
d = sys.argv[1]
def load(name):
    with open(f"{d}/{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(l) for l in f]
sft, pt, ph, ev, rl = (load(n) for n in ("sft_train", "prefs_train", "prefs_held_out", "eval_held_out", "rl_train"))
assert (len(sft), len(pt), len(ph), len(ev)) == (300, 300, 60, 60), (len(sft), len(pt), len(ph), len(ev))
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b,
       "加": lambda a, b: a + b, "减": lambda a, b: a - b, "乘以": lambda a, b: a * b}
def problem(prompt):
    m = re.search(r"(\d+) ?(\+|-|×|加|减|乘以) ?(\d+)", prompt)
    assert m, prompt
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    key = {"加": "+", "减": "-", "乘以": "×"}.get(op, op)
    if key in "+×" and b < a: a, b = b, a
    return (a, key, b), OPS[op](int(m.group(1)), int(m.group(3)))
for r in sft:
    assert list(r) == ["messages"], r
    u, a = r["messages"]
    assert u["role"] == "user" and a["role"] == "assistant", r
    assert a["content"] == str(problem(u["content"])[1]), r
for rs in (pt, ph):
    for r in rs:
        assert list(r) == ["prompt", "chosen", "rejected"], r
        assert len(r["prompt"]) == 1 and r["prompt"][0]["role"] == "user", r
        right = str(problem(r["prompt"][0]["content"])[1])
        assert r["chosen"] == right and r["rejected"] != right and r["rejected"].isdigit(), r
for r in ev:
    assert list(r) == ["prompt", "answer", "extract"] and r["extract"] == "exact", r
    assert r["answer"] == str(problem(r["prompt"])[1]), r
for r in rl:
    assert list(r) == ["prompt", "answer"] and r["answer"] == str(problem(r["prompt"])[1]), r
# The same train problems in sft, prefs and rl, the same held-out problems in prefs and eval.
assert [r["messages"][0]["content"] for r in sft] == [r["prompt"] for r in rl]
assert [r["messages"][0]["content"] for r in sft] == [r["prompt"][0]["content"] for r in pt]
assert [r["prompt"][0]["content"] for r in ph] == [r["prompt"] for r in ev]
train = [problem(r["messages"][0]["content"])[0] for r in sft]
held = [problem(r["prompt"])[0] for r in ev]
assert len(set(train)) == len(train) and len(set(held)) == len(held), "a side repeats a problem"
assert not set(train) & set(held), f"overlap: {set(train) & set(held)}"
assert any("等于多少" in r["prompt"] for r in ev) and any("?" in r["prompt"] for r in ev), "phrasings"
assert {k[1] for k in train} == {"+", "-", "×"}, "ops"
PY

# Determinism: the same flags, the same bytes; another seed, other problems.
"$BAIMO" data arithmetic --out "$T/b" --train 300 --held-out 60 --seed 3 --digits 2 --ops +,-,* \
  --zh-fraction 0.3 >/dev/null 2>&1 || fail "second run"
for f in sft_train prefs_train prefs_held_out eval_held_out rl_train; do
  cmp -s "$T/a/$f.jsonl" "$T/b/$f.jsonl" || fail "$f.jsonl differs between runs of the same seed"
done
"$BAIMO" data arithmetic --out "$T/c" --train 300 --held-out 60 --seed 4 --digits 2 --ops +,-,* \
  --zh-fraction 0.3 >/dev/null 2>&1 || fail "seed 4"
! cmp -s "$T/a/eval_held_out.jsonl" "$T/c/eval_held_out.jsonl" || fail "seeds 3 and 4 give the same problems"

# --rl: rl_train.jsonl holds problems that neither train nor held-out has; the other files are unchanged.
"$BAIMO" data arithmetic --out "$T/r" --train 300 --held-out 60 --rl 80 --seed 3 --digits 2 --ops +,-,* \
  --zh-fraction 0.3 >/dev/null 2>"$T/r.txt" || { cat "$T/r.txt"; fail "--rl 80"; }
grep -q "300 train + 60 held-out + 80 RL" "$T/r.txt" || fail "summary with --rl: $(cat "$T/r.txt")"
for f in sft_train prefs_train prefs_held_out eval_held_out; do
  cmp -s "$T/a/$f.jsonl" "$T/r/$f.jsonl" || fail "$f.jsonl changed with --rl"
done
$PY - "$T/r" <<'PY' || fail "--rl problems"
import json, re, sys
d = sys.argv[1]
def keys(name, prompt):
    out = []
    for line in open(f"{d}/{name}.jsonl", encoding="utf-8"):
        m = re.search(r"(\d+) ?(\+|-|×|加|减|乘以) ?(\d+)", prompt(json.loads(line)))
        a, op, b = int(m[1]), {"加": "+", "减": "-", "乘以": "×"}.get(m[2], m[2]), int(m[3])
        out.append((min(a, b), op, max(a, b)) if op in "+×" else (a, op, b))
    return out
rl = keys("rl_train", lambda r: r["prompt"])
train = set(keys("sft_train", lambda r: r["messages"][0]["content"]))
held = set(keys("eval_held_out", lambda r: r["prompt"]))
assert len(rl) == 80 and len(set(rl)) == 80, len(rl)
assert not set(rl) & train and not set(rl) & held, "an RL problem is also a train or held-out one"
PY

# --rejected all: one pair per plausible wrong answer of each train problem; the held-out pairs unchanged.
"$BAIMO" data arithmetic --out "$T/all" --train 300 --held-out 60 --rejected all --seed 3 --digits 2 --ops +,-,* \
  --zh-fraction 0.3 >/dev/null 2>&1 || fail "--rejected all"
cmp -s "$T/a/prefs_held_out.jsonl" "$T/all/prefs_held_out.jsonl" || fail "--rejected all changed the held-out pairs"
$PY - "$T/a" "$T/all" <<'PY' || fail "--rejected all pairs"
import json, sys
one = [json.loads(l) for l in open(f"{sys.argv[1]}/prefs_train.jsonl", encoding="utf-8")]
pairs = [json.loads(l) for l in open(f"{sys.argv[2]}/prefs_train.jsonl", encoding="utf-8")]
assert len(pairs) > 3 * len(one), (len(pairs), len(one))
by_prompt = {}
for r in pairs:
    assert r["rejected"] != r["chosen"], r
    by_prompt.setdefault(r["prompt"][0]["content"], []).append(r["rejected"])
assert list(by_prompt) == [r["prompt"][0]["content"] for r in one], "the same problems in the same order"
for r in one:
    wrong = by_prompt[r["prompt"][0]["content"]]
    assert r["rejected"] in wrong and len(set(wrong)) == len(wrong), (r, wrong)
PY

# Bad flags: clear errors, nothing written.
bad() {  # expected-text flags...
  local want=$1; shift
  if "$BAIMO" data arithmetic --out "$T/bad" "$@" >/dev/null 2>"$T/bad.txt"; then fail "accepted: $*"; fi
  grep -q -- "$want" "$T/bad.txt" || fail "error for $* does not say '$want': $(cat "$T/bad.txt")"
  [ ! -e "$T/bad" ] || fail "wrote $T/bad for: $*"
}
bad "--ops" --ops +,/
bad "twice" --ops +,+
bad "--digits" --digits 0
bad "--digits" --digits 9
bad "allow only 55" --digits 1 --ops + --train 50 --held-out 10
bad "+ 10 RL problems" --digits 1 --ops + --train 30 --held-out 10 --rl 10
bad "--rejected" --rejected some
bad "--train" --train 0
bad "--zh-fraction" --zh-fraction 2

# The files feed `baimo sft` and `baimo eval run`.
TOK="$SHARED/models/base-small-zh-en/tokenizer.json"
if [ ! -f "$TOK" ]; then echo "SKIP sft/eval: $TOK not found"; echo "PASS test_data_arithmetic (files only)"; exit 0; fi
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$TOK" --out "$T/tiny" --seed 1 >/dev/null || fail "init"
"$BAIMO" sft --model "$T/tiny" --data "$T/a/sft_train.jsonl" --out "$T/run" --steps 2 --batch 2 --max-len 64 \
  --val-fraction 0 --eval-interval 0 --checkpoint-interval 0 --threads 1 >"$T/sft.txt" 2>&1 \
  || { tail -20 "$T/sft.txt"; fail "sft on sft_train.jsonl"; }
grep -q "300 conversations" "$T/sft.txt" || fail "sft did not read 300 conversations: $(head -5 "$T/sft.txt")"
[ -d "$T/run/final" ] || fail "no final model"
"$BAIMO" eval run --model "$T/run/final" --tasks "$T/a/eval_held_out.jsonl" --limit 8 --max-tokens 4 --threads 1 \
  --out "$T/eval.json" >"$T/eval.txt" 2>&1 || { tail -20 "$T/eval.txt"; fail "eval run on eval_held_out.jsonl"; }
$PY - "$T/eval.json" <<'PY' || fail "eval results: $(cat "$T/eval.json")"
import json, sys
r = json.load(open(sys.argv[1]))
s = json.dumps(r)
assert "exact_match" in s and "eval_held_out" in s, s
PY
echo "PASS test_data_arithmetic"
