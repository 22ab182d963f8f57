#!/usr/bin/env bash
# `baimo recipe` end to end on the built-in defaults (the repository's own text and the generated
# arithmetic task, nothing from ../shared), with tiny step counts:
#   - every stage runs (tokenizer, data, pretrain, sft, rm, dpo, grpo, distill, quantize, serve), each
#     model is evaluated, the served model answers over the OpenAI API on loopback;
#   - kill -9 of the recipe in the middle of pretraining leaves no training process behind, and the
#     rerun picks up at the pretrain command with --resume from its last checkpoint;
#   - the report card: report.md / report.json with every stage done, the eval table, answers in
#     English and Chinese, the served answers, SVG curves, the commands; `recipe report` rebuilds it;
#   - a rerun with nothing to do does nothing; a changed config is refused unless --restart-from names
#     the stage to redo, which then reruns only that stage and the later ones;
#   - bad input: an unknown flag in a section and a failing stage are errors naming them.
# Usage: bash test_recipe.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
RECIPE_PID=
trap '[ -n "$RECIPE_PID" ] && kill -9 "$RECIPE_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=2
cd "$T"  # relative paths in the report's commands: run from here

cat >tiny.json <<'EOF'
{
  "seed": 3,
  "task": {"train": 300, "held-out": 40},
  "pretrain": {"steps": 200, "checkpoint-interval": 20, "eval-interval": 100},
  "sft": {"epochs": 5, "eval-interval": 0},
  "rm": {"epochs": 1, "eval-interval": 0},
  "dpo": {"epochs": 1, "eval-interval": 0},
  "grpo": {"steps": 3, "batch": 4, "group": 4, "eval-interval": 0},
  "distill": {"epochs": 1, "eval-interval": 0},
  "eval": {"limit": 20},
  "serve": {"prompts": ["What is 12 + 7?", "你好"]}
}
EOF

# 1. Start, and kill -9 once pretraining has saved a checkpoint past step 0.
"$BAIMO" recipe --config tiny.json --out R >first.log 2>&1 &
RECIPE_PID=$!
for _ in $(seq 1 600); do
  ls R/pretrain/checkpoints 2>/dev/null | grep -qv step_0000000 && break
  kill -0 "$RECIPE_PID" 2>/dev/null || { cat first.log; fail "the recipe ended before pretraining checkpointed"; }
  sleep 0.1
done
kill -9 "$RECIPE_PID"
wait "$RECIPE_PID" 2>/dev/null || true
RECIPE_PID=
sleep 0.5
if pgrep -f "$BAIMO pretrain --init $T" >/dev/null || pgrep -f "pretrain --init R/pretrain/init" >/dev/null; then
  fail "pretrain outlived the killed recipe"
fi
grep -q '"status": "running"' R/recipe_state.json || fail "no running stage in the state after the kill"

# 2. The rerun (the saved config, no --config) resumes pretraining and finishes every stage.
"$BAIMO" recipe --out R >second.log 2>&1 || { cat second.log; fail "the resumed recipe failed"; }
grep -q "tokenizer: done before" second.log || { cat second.log; fail "tokenizer was redone"; }
grep -q "pretrain (resuming at command 2)" second.log || { cat second.log; fail "pretrain did not resume at its command"; }
grep -q -- "--seed 3 --resume" second.log || { cat second.log; fail "pretrain did not get --resume"; }
grep -q "resumed from .*step" R/logs/pretrain.log || { tail -20 R/logs/pretrain.log; fail "pretrain did not resume from a checkpoint"; }
for s in tokenizer data pretrain sft rm dpo grpo distill quantize serve; do
  python3 - "$s" <<'EOF' || fail "stage $s is not done"
import json, sys
st = json.load(open("R/recipe_state.json"))["stages"][sys.argv[1]]
assert st["status"] == "done", st
EOF
done

# 3. The report card.
for f in R/report.md R/report.json R/report/pretrain_loss.svg R/report/sft_loss.svg R/report/grpo_reward.svg \
  R/serve/samples.json R/quantize/model.gguf R/grpo/final/model.safetensors; do
  [ -s "$f" ] || fail "$f missing"
done
python3 - <<'EOF' || fail "report.json"
import json
r = json.load(open("R/report.json"))
stages = {s["name"]: s for s in r["stages"]}
assert stages["ppo"]["status"] == "skipped"
for name in ["pretrain", "sft", "dpo", "grpo", "distill", "quantize"]:
    ev = stages[name]["eval"]
    assert "exact_match" in ev["eval_held_out"] and "acc" in ev["arith_mc"], (name, ev)
assert stages["pretrain"]["eval"]["eval_held_out"]["eot_rate"]["value"] <= 0.2   # a base model rarely stops
assert stages["sft"]["eval"]["eval_held_out"]["eot_rate"]["value"] >= 0.9        # the chat model does
assert stages["pretrain"]["run"]["steps"] == 200 and stages["pretrain"]["run"]["tokens"] > 0
assert stages["rm"]["run"]["last_eval"]["metrics"]["accuracy"] >= 0
samples = stages["sft"]["samples"]
assert any(ord(c) > 0x4E00 for s in samples for c in s["prompt"]), samples          # Chinese
assert any(all(ord(c) < 128 for c in s["prompt"]) for s in samples), samples        # English
served = stages["serve"]["served"]["samples"]
assert [s["prompt"] for s in served] == ["What is 12 + 7?", "你好"] and all(s["finish_reason"] for s in served)
assert stages["sft"]["commands"][0].startswith("baimo sft --model R/pretrain/final")
EOF
grep -q "^| sft | done |" R/report.md || fail "report.md: no sft row"
grep -q "## The eval suite after each stage" R/report.md || fail "report.md: no eval table"
grep -q "## The served model" R/report.md || fail "report.md: no served answers"
grep -q '^baimo grpo --model R/dpo/final' R/report.md || fail "report.md: no grpo command"
rm R/report.md
"$BAIMO" recipe report R >report.log 2>&1 || { cat report.log; fail "recipe report"; }
grep -q "^| quantize | done |" R/report.md || fail "recipe report did not rebuild report.md"

# 4. Nothing to do; a changed config is refused; --restart-from redoes from that stage on.
"$BAIMO" recipe --out R >third.log 2>&1 || { cat third.log; fail "the finished recipe failed on a rerun"; }
[ "$(grep -c 'done before' third.log)" = 10 ] || { cat third.log; fail "a finished stage ran again"; }
sed 's/"limit": 20/"limit": 10/' tiny.json >changed.json
if "$BAIMO" recipe --config changed.json --out R >changed.log 2>&1; then fail "a changed config was accepted"; fi
grep -q "eval.limit differs" changed.log || { cat changed.log; fail "the refusal does not name the key"; }
sha=$(sha256sum R/sft/final/model.safetensors)
"$BAIMO" recipe --config changed.json --out R --restart-from quantize >restart.log 2>&1 || { cat restart.log; fail "--restart-from"; }
grep -q "sft: done before" restart.log || fail "--restart-from quantize redid sft"
grep -q "^\[.*\] quantize$" restart.log || { cat restart.log; fail "--restart-from quantize did not redo quantize"; }
[ "$(sha256sum R/sft/final/model.safetensors)" = "$sha" ] || fail "the sft model changed"
python3 -c "import json; assert json.load(open('R/eval/quantize.json'))['results']['eval_held_out']['n'] == 10" ||
  fail "quantize's eval did not use the new limit"

# 5. Bad input.
echo '{"sft": {"lrr": 1}}' >bad.json
if "$BAIMO" recipe --config bad.json --out B >bad.log 2>&1; then fail "an unknown flag was accepted"; fi
grep -q '"sft": `baimo sft` has no flag --lrr' bad.log || { cat bad.log; fail "unknown flag message"; }
[ ! -e B/recipe_state.json ] || fail "a refused config started stages"
echo '{"task": {"skip": true}, "tokenizer": {"vocab-size": 300}, "pretrain": {"steps": 2}, "sft": {"data": "missing.jsonl"}}' >fails.json
if "$BAIMO" recipe --config fails.json --out F >fails.log 2>&1; then fail "a failing stage was not an error"; fi
grep -q "stage sft: .* exited with status 1; its output is in F/logs/sft.log" fails.log || { cat fails.log; fail "failure message"; }
grep -q "missing.jsonl" F/logs/sft.log || fail "the stage's log does not name the missing file"
if "$BAIMO" recipe --out R --skip sfft >skip.log 2>&1; then fail "--skip sfft accepted"; fi
grep -q "not a stage" skip.log || fail "--skip message"
echo "OK"
