#!/usr/bin/env bash
# `baimo eval winrate` end to end on the shared base model:
#  - reward model (`baimo rm init` over the base): the same model on both sides -> every answer
#    identical, all ties, win rate exactly 0.5; the base against a random model of the same shape
#    (another init seed) -> wins + ties + losses = n, each outcome as the logged rewards say, the
#    Wilson interval around the rate; the base against itself + a LoRA adapter (--lora-b); the results
#    JSON, --log-samples, the table;
#  - judge (the base model as its own judge, default template and a template file): runs, sums to n,
#    both orders' margins logged; prompts from a preference file and an SFT file;
#  - errors: a causal LM as --rm, a reward model as --judge, a bad prompt line, a template without a
#    placeholder, no scorer, answers longer than the reward model's context, a prompt past the model's.
# Usage: bash test_eval_winrate.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
SHARED=${BAIMO_SHARED:-$(realpath -m "$(dirname "$0")/../../../shared")}
BASE="$SHARED/models/base-small-zh-en"
[ -d "$BASE" ] || { echo "SKIP: $BASE not found"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=2
PY=/usr/bin/python3

"$BAIMO" rm init --model "$BASE" --out "$T/rm" --seed 1 >/dev/null || fail "rm init"
"$BAIMO" init --config "$BASE/config.json" --tokenizer "$BASE/tokenizer.json" --out "$T/other" --seed 2 >/dev/null \
  || fail "init of the other model"
cat >"$T/prompts.jsonl" <<'JSON'
{"prompt": "What is the capital of France?"}
{"prompt": "Write one sentence about the sea.", "system": "You are brief."}
{"prompt": "中国的首都是哪里？"}

{"messages": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Name a color."}]}
{"prompt": "2 + 3 = ?"}
{"prompt": "Give me a word that rhymes with cat."}
JSON
W=(eval winrate --prompts "$T/prompts.jsonl" --max-tokens 12 --batch 4 --threads 2)

"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$BASE" --rm "$T/rm" --out "$T/same.json" >"$T/same.txt" 2>"$T/same.err" \
  || { cat "$T/same.err"; fail "same model, reward model"; }
cat "$T/same.txt"
grep -q "^win rate    0.5000  95% CI \[" "$T/same.txt" || fail "table: win rate line"
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$T/other" --rm "$T/rm" --out "$T/diff.json" \
  --log-samples "$T/diff.jsonl" >"$T/diff.txt" 2>"$T/diff.err" || { cat "$T/diff.err"; fail "different models, reward model"; }
cat "$T/diff.txt"
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$T/other" --judge "$BASE" --out "$T/judge.json" >"$T/judge.txt" 2>"$T/judge.err" \
  || { cat "$T/judge.err"; fail "judge"; }
cat "$T/judge.txt"
printf 'Question: {question}\nFirst answer (A): {answer_a}\nSecond answer (B): {answer_b}\nWhich is better, A or B?' >"$T/tmpl.txt"
"$BAIMO" "${W[@]}" --model-a "$T/other" --model-b "$BASE" --judge "$BASE" --judge-template "$T/tmpl.txt" --limit 3 \
  --out "$T/judge2.json" >/dev/null 2>"$T/judge2.err" || { cat "$T/judge2.err"; fail "judge with a template file"; }
"$BAIMO" eval winrate --prompts "$SHARED/data/prefs/dpo_en_demo.json" --limit 3 --max-tokens 8 --model-a "$BASE" \
  --model-b "$BASE" --judge "$BASE" --out "$T/prefs.json" >/dev/null 2>"$T/prefs.err" || { cat "$T/prefs.err"; fail "prompts of a preference file"; }
"$BAIMO" eval winrate --prompts "$SHARED/data/sft/alpaca_en_demo.json" --limit 3 --max-tokens 8 --model-a "$BASE" \
  --model-b "$T/other" --rm "$T/rm" --out "$T/sft.json" >/dev/null 2>"$T/sft.err" || { cat "$T/sft.err"; fail "prompts of an SFT file"; }
$PY "$(dirname "$0")/lora_adapter.py" "$BASE" "$T/lora" --r 4 --alpha 8 --b-std 0.08 --seed 3 >/dev/null || fail "LoRA adapter"
"$BAIMO" "${W[@]}" --limit 3 --model-a "$BASE" --model-b "$BASE" --lora-b "$T/lora" --rm "$T/rm" --out "$T/lora.json" \
  >/dev/null 2>"$T/lora.err" || { cat "$T/lora.err"; fail "base against base + LoRA"; }

$PY - "$T" <<'PYEOF' || exit 1
import json, math, sys
T = sys.argv[1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL " + msg)
    ok &= bool(cond)
def wilson(p, n, z=1.959963984540054):
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0, c - h), min(1, c + h)
same = json.load(open(f"{T}/same.json"))
check(same["n"] == 6 and same["ties"] == 6 and same["wins"] == 0 and same["losses"] == 0, f"same model: {same['n']} {same['ties']}")
check(same["win_rate"] == 0.5 and same["identical_answers"] == 6, f"same model: win rate {same['win_rate']}")
check(all(s["answer_a"] == s["answer_b"] for s in same["samples"]), "same model: same answers")
for name in ("diff", "judge", "judge2", "prefs", "sft", "lora"):
    r = json.load(open(f"{T}/{name}.json"))
    n = r["n"]
    check(n == {"judge2": 3, "prefs": 3, "sft": 3, "lora": 3}.get(name, 6), f"{name}: n {n}")
    check(r["wins"] + r["ties"] + r["losses"] == n, f"{name}: the outcomes do not add up to n")
    check(abs(r["win_rate"] - (r["wins"] + r["ties"] / 2) / n) < 1e-12, f"{name}: win rate")
    lo, hi = wilson(r["win_rate"], n)
    check(abs(r["ci95"][0] - lo) < 1e-9 and abs(r["ci95"][1] - hi) < 1e-9, f"{name}: interval {r['ci95']} != {(lo, hi)}")
    check(len(r["samples"]) == n, f"{name}: one sample per prompt")
    for side in ("a", "b"):
        s = r["answers"][side]
        check(0 <= s["ended_turn_rate"] <= 1 and 0 <= s["mean_tokens"] <= 12, f"{name}: answers {side} {s}")
diff = json.load(open(f"{T}/diff.json"))
check(diff["scorer"]["kind"] == "reward_model" and diff["identical_answers"] < 6, "diff: the models answer differently")
for s in diff["samples"]:
    if s["identical"]:
        check(s["outcome"] == "tie", "identical answers are a tie")
        continue
    want = "win" if s["reward_a"] > s["reward_b"] else "loss" if s["reward_b"] > s["reward_a"] else "tie"
    check(s["outcome"] == want, f"diff sample {s['index']}: {s['outcome']} with rewards {s['reward_a']} {s['reward_b']}")
lora = json.load(open(f"{T}/lora.json"))
check(lora["lora_b"].endswith("/lora") and lora["lora_a"] == "", "the LoRA is recorded for side b")
check(lora["identical_answers"] < 3, "the LoRA changes the answers")
logged = [json.loads(l) for l in open(f"{T}/diff.jsonl")]
check(logged == diff["samples"], "--log-samples holds the JSON's samples")
check(diff["samples"][3]["messages"][-1]["content"] == "Name a color." and "record 4, line 5" in diff["samples"][3]["where"],
      "messages record and its line")
judge = json.load(open(f"{T}/judge.json"))
check(judge["scorer"]["kind"] == "judge" and judge["scorer"]["template"] == "default", "judge scorer")
for s in judge["samples"]:
    if s["identical"]:
        continue
    a, b = s["judge_margin_ab"], s["judge_margin_ba"]
    want = "win" if a > 0 and b < 0 else "loss" if a < 0 and b > 0 else "tie"
    check(s["outcome"] == want, f"judge sample {s['index']}: {s['outcome']} with margins {a} {b}")
sys.exit(0 if ok else 1)
PYEOF
echo "reward model: same model all ties (0.5), different models and a LoRA add up; judge in both orders; preference / SFT prompts"

# Errors.
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$BASE" --rm "$BASE" >"$T/e1.log" 2>&1 && fail "a causal LM as --rm"
grep -q "score head" "$T/e1.log" && grep -q "$BASE" "$T/e1.log" || { cat "$T/e1.log"; fail "message for a causal LM as --rm"; }
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$BASE" --judge "$T/rm" >"$T/e2.log" 2>&1 && fail "a reward model as --judge"
grep -q "reward model" "$T/e2.log" && grep -q "$T/rm" "$T/e2.log" || { cat "$T/e2.log"; fail "message for a reward model as --judge"; }
printf '{"prompt": "ok"}\n{"prompt": ["not", "text"]}\n' >"$T/bad.jsonl"
"$BAIMO" eval winrate --prompts "$T/bad.jsonl" --model-a "$BASE" --model-b "$BASE" --rm "$T/rm" >"$T/e3.log" 2>&1 \
  && fail "a bad prompt line"
grep -q "bad.jsonl: record 2, line 2" "$T/e3.log" || { cat "$T/e3.log"; fail "the error should name the file and line"; }
printf '{question} {answer_a}' >"$T/tmpl_bad.txt"
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$BASE" --judge "$BASE" --judge-template "$T/tmpl_bad.txt" >"$T/e4.log" 2>&1 \
  && fail "a template without {answer_b}"
grep -q "tmpl_bad.txt.*{answer_b}" "$T/e4.log" || { cat "$T/e4.log"; fail "message for a template without {answer_b}"; }
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$BASE" >"$T/e5.log" 2>&1 && fail "no scorer"
grep -q "\-\-rm" "$T/e5.log" || { cat "$T/e5.log"; fail "message without a scorer"; }
cp -r "$T/rm" "$T/rm_short"
$PY - "$T/rm_short/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["max_position_embeddings"] = 20; json.dump(c, open(sys.argv[1], "w"))
PYEOF
"$BAIMO" "${W[@]}" --model-a "$BASE" --model-b "$T/other" --rm "$T/rm_short" >"$T/e6.log" 2>&1 && fail "answers past the reward model's context"
grep -q "prompts.jsonl: record 1, line 1: .*longer than the reward model's context 20" "$T/e6.log" \
  || { cat "$T/e6.log"; fail "message for a conversation longer than the reward model's context"; }
{ echo '{"prompt": "short"}'; $PY -c 'import json; print(json.dumps({"prompt": "word " * 1500}))'; } >"$T/long.jsonl"
"$BAIMO" eval winrate --max-tokens 12 --prompts "$T/long.jsonl" --model-a "$BASE" --model-b "$BASE" --rm "$T/rm" >"$T/e7.log" 2>&1 && fail "a prompt past the context"
grep -q "long.jsonl: record 2, line 2: the prompt is .* tokens" "$T/e7.log" || { cat "$T/e7.log"; fail "message for a prompt past the context"; }
echo "errors: causal LM as --rm, reward model as --judge, bad prompt line, template, no scorer, too long for the reward model, a prompt past the context"
