#!/usr/bin/env bash
# `baimo rm train` end to end on the real base model and baimo's own arithmetic preference pairs:
#  - full: a reward model (score head on the last token, Bradley-Terry loss) whose final directory is a
#    *ForSequenceClassification checkpoint; accuracy / margin logged on train and held-out pairs;
#    `rm score` of the held-out pairs gives exactly the training's held-out accuracy (the same
#    rendering and score position); killed with SIGKILL and resumed, bit-identical;
#  - LoRA: adapter + score head trained, merged into one reward-model directory that `rm score` reads;
#  - errors: a causal LM given to `rm score`, bad pairs, nothing written.
# Usage: bash test_rm_train.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
source "$(dirname "$0")/finetune_env.sh"

"$BAIMO" data arithmetic --out "$T/data" --train 120 --held-out 40 --digits 2 --second-digits 1 --ops + --seed 1 \
  >/dev/null 2>&1 || fail "data arithmetic"
COMMON=(rm train --model "$BASE" --data "$T/data/prefs_train.jsonl" --eval-data "$T/data/prefs_held_out.jsonl"
        --max-len 64 --max-prompt-len 48 --batch 8 --eval-interval 5 --seed 3 --threads 2 --peak-gflops 1)
ARGS=("${COMMON[@]}" --steps 10 --checkpoint-interval 5 --lr 1e-4)
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted full run"; }
grep -q "^data: 120 pairs from 1 file(s), template chatml: 120 train, 40 held out" "$T/a.log" || { cat "$T/a.log"; fail "data line"; }
grep -q "^eval step 0: val_loss .* accuracy .* margin" "$T/a.log" || { cat "$T/a.log"; fail "no evaluation before training"; }
for k in accuracy margin reward/chosen reward/rejected val_accuracy val_margin; do
  grep -q "\"$k\"" "$T/a/metrics.jsonl" || fail "metrics.jsonl lacks $k"
done
grep -q '"Qwen2ForSequenceClassification"' "$T/a/final/config.json" || fail "final is not a sequence-classification model"
"$BAIMO" rm score --model "$T/a/final" --data "$T/data/prefs_held_out.jsonl" --out "$T/scores.jsonl" 2>"$T/score.log" \
  || { cat "$T/score.log"; fail "rm score of the held-out pairs"; }
[ "$(wc -l <"$T/scores.jsonl")" = 40 ] || fail "one line per pair"
/usr/bin/python3 - "$T/a/metrics.jsonl" "$T/score.log" <<'PY' || fail "rm score's accuracy is not the training's held-out accuracy"
import json, re, sys
val = [json.loads(l)["val_accuracy"] for l in open(sys.argv[1]) if "val_accuracy" in l][-1]
acc = float(re.search(r"pairwise accuracy ([0-9.]+)", open(sys.argv[2]).read()).group(1))
assert abs(val - acc) < 1e-3, (val, acc)
PY

kill_resume_matches "$T/a" "$T/b" 7 10 "$BAIMO" "${ARGS[@]}"
echo "full: a sequence-classification model, rm score = held-out accuracy, kill -9 + resume bit-identical"

"$BAIMO" "${COMMON[@]}" --lora --lora-r 4 --lr 1e-3 --steps 3 --checkpoint-interval 0 --out "$T/l" >"$T/l.log" 2>&1 \
  || { cat "$T/l.log"; fail "LoRA run"; }
grep -q "^rm (LoRA)" "$T/l.log" || { cat "$T/l.log"; fail "not a LoRA run"; }
"$BAIMO" rm score --model "$T/l/final" --data "$T/data/prefs_held_out.jsonl" >/dev/null 2>"$T/lscore.log" \
  || { cat "$T/lscore.log"; fail "rm score of the merged LoRA reward model"; }
echo "LoRA: adapter and head merged into one reward model"

"$BAIMO" rm score --model "$BASE" --data "$T/data/prefs_held_out.jsonl" >"$T/e1.log" 2>&1 && fail "a causal LM has no score head"
grep -q "score head" "$T/e1.log" || { cat "$T/e1.log"; fail "message for a causal LM"; }
printf '{"prompt": "1+1?", "chosen": "2"}\n' >"$T/half.jsonl"
"$BAIMO" rm train --model "$BASE" --data "$T/half.jsonl" --steps 1 --out "$T/bad" >"$T/e2.log" 2>&1 && fail "a pair without rejected"
grep -q "half.jsonl" "$T/e2.log" && grep -q "rejected" "$T/e2.log" || { cat "$T/e2.log"; fail "the error should name the file and field"; }
[ ! -e "$T/bad" ] || fail "a failed run wrote $T/bad"
echo "bad input: clear errors, nothing written"
echo "PASS"
