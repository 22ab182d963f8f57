#!/usr/bin/env bash
# `baimo dpo` end to end on the real base model and preference data of ../shared:
#  - full DPO (sigmoid): before any update the policy is the reference, so the held-out loss is log 2;
#    the TRL metrics are logged (rewards/*, logps/*) and `baimo plot --metric logps/chosen` draws one;
#    killed with SIGKILL mid-run and resumed, it ends bit-identical to an uninterrupted run;
#  - mpirun -np 2 (2 pairs of every 4 each) = 1 process;
#  - LoRA (the reference is the base with the adapter off): a PEFT adapter that generate --lora applies;
#    every other loss (ipo, hinge, simpo, orpo) runs and writes its final model; RPO logs nll_loss;
#  - bad input (identical chosen and rejected, an empty answer, a malformed line, an unknown loss) is a
#    clear error naming the file / line / field, exit 1, nothing written to --out.
# Usage: bash test_dpo.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
source "$(dirname "$0")/finetune_env.sh"
PREFS="$SHARED/data/prefs"

# ---- full DPO: log 2 before training, TRL's metrics, kill -9 + resume bit-identical ----
ARGS=(dpo --model "$BASE" --data "$PREFS/dpo_en_demo.json" --max-len 160 --max-prompt-len 64 --batch 4 --steps 8
      --checkpoint-interval 4 --eval-interval 4 --val-fraction 0.05 --seed 3 --threads 2 --lr 1e-4 --peak-gflops 1)
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted full run"; }
grep -q "^data: 300 pairs from 1 file(s), template chatml: 285 train, 15 held out" "$T/a.log" || { cat "$T/a.log"; fail "data line"; }
grep -q "^reference log-probs of 300 pairs" "$T/a.log" || fail "no reference pass"
grep -q "^eval step 0: val_loss 0.693[01] .*rewards/accuracies" "$T/a.log" || { cat "$T/a.log"; fail "the held-out loss before training should be log 2"; }
[ "$(losses "$T/a" | wc -l)" = 8 ] || fail "expected 8 step lines"
for k in rewards/chosen rewards/rejected rewards/accuracies rewards/margins logps/chosen logps/rejected \
         val_rewards/accuracies val_logps/chosen; do
  grep -q "\"$k\"" "$T/a/metrics.jsonl" || fail "metrics.jsonl lacks $k"
done
! grep -q val_ppl "$T/a/metrics.jsonl" || fail "a DPO loss has no perplexity"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -f "$T/a/final/$f" ] || fail "final/$f missing"
done
[ "$(wc -l <"$T/a/held_out.jsonl")" = 15 ] || fail "held_out.jsonl should hold the 15 held-out pairs"
"$BAIMO" plot "$T/a" --metric logps/chosen >"$T/plot.log" 2>&1 || { cat "$T/plot.log"; fail "plot --metric"; }
grep -q "logps/chosen" "$T/a/logps_chosen.svg" || fail "the plot does not name its metric"

kill_resume_matches "$T/a" "$T/b" 5 8 "$BAIMO" "${ARGS[@]}"
echo "full: log 2 at the start, TRL metrics, kill -9 + resume bit-identical"

# ---- data parallel: 2 ranks = 1 process ----
source "$(dirname "$0")/mpi_env.sh"
MARGS=(dpo --model "$BASE" --data "$PREFS/dpo_zh_demo.json" --max-len 128 --max-prompt-len 48 --batch 4 --steps 3
       --val-fraction 0.05 --seed 3 --lr 1e-4 --peak-gflops 1 --checkpoint-interval 0)
OMP_NUM_THREADS=2 "$BAIMO" "${MARGS[@]}" --threads 2 --out "$T/one" >"$T/one.log" 2>&1 || { cat "$T/one.log"; fail "1 process"; }
OMP_NUM_THREADS=1 timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${MARGS[@]}" --threads 1 --out "$T/two" >"$T/two.log" 2>&1 \
  || { cat "$T/two.log"; fail "mpirun -np 2"; }
/usr/bin/python3 - "$T/one/metrics.jsonl" "$T/two/metrics.jsonl" <<'PY' || fail "2 ranks differ from 1 process"
import json, sys
def read(p):
    return [json.loads(l) for l in open(p) if l.strip() and "event" not in l]
a, b = read(sys.argv[1]), read(sys.argv[2])
assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3]
for x, y in zip(a, b):
    for k in ("loss", "val_loss", "logps/chosen", "val_rewards/margins"):
        if k in x or k in y:
            assert abs(x[k] - y[k]) <= 1e-4 * max(1.0, abs(x[k])), (x["step"], k, x[k], y[k])
PY
echo "data parallel: 2 ranks = 1 process"

# ---- LoRA, and the other losses (on 40 pairs: each run's reference pass is over its data) ----
/usr/bin/python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))[:40], open(sys.argv[2], "w"), ensure_ascii=False)' \
  "$PREFS/dpo_zh_demo.json" "$T/zh40.json"
"$BAIMO" dpo --model "$BASE" --data "$T/zh40.json" --lora --lora-r 4 --max-len 128 --max-prompt-len 48 \
  --batch 4 --steps 3 --val-fraction 0 --seed 1 --threads 2 --lr 1e-3 --peak-gflops 1 --out "$T/l" >"$T/l.log" 2>&1 \
  || { cat "$T/l.log"; fail "LoRA run"; }
grep -q "dpo, loss sigmoid, beta 0.1 (LoRA)" "$T/l.log" || { cat "$T/l.log"; fail "not a LoRA run"; }
grep -q '"peft_type": "LORA"' "$T/l/final/adapter_config.json" || fail "the LoRA run's final is not a PEFT adapter"
"$BAIMO" generate --model "$BASE" --lora "$T/l/final" --prompt "你好" --max-tokens 4 --temperature 0 >/dev/null 2>&1 \
  || fail "generate --lora on the DPO adapter"
for loss in ipo hinge simpo orpo; do
  "$BAIMO" dpo --model "$BASE" --data "$T/zh40.json" --loss "$loss" --max-len 96 --max-prompt-len 32 \
    --batch 2 --steps 2 --val-fraction 0 --seed 1 --threads 2 --lr 1e-4 --peak-gflops 1 --out "$T/$loss" >"$T/$loss.log" 2>&1 \
    || { cat "$T/$loss.log"; fail "--loss $loss"; }
  [ -f "$T/$loss/final/model.safetensors" ] || fail "--loss $loss wrote no final model"
  case $loss in simpo|orpo) ! grep -q "^reference log-probs" "$T/$loss.log" || fail "$loss needs no reference pass" ;; esac
done
"$BAIMO" dpo --model "$BASE" --data "$T/zh40.json" --rpo-alpha 1 --max-len 96 --max-prompt-len 32 \
  --batch 2 --steps 2 --val-fraction 0 --seed 1 --threads 2 --lr 1e-4 --peak-gflops 1 --out "$T/rpo" >"$T/rpo.log" 2>&1 \
  || { cat "$T/rpo.log"; fail "--rpo-alpha 1"; }
grep -q '"nll_loss"' "$T/rpo/metrics.jsonl" || fail "an RPO run logs nll_loss"
! grep -q '"nll_loss"' "$T/ipo/metrics.jsonl" || fail "nll_loss without --rpo-alpha"
echo "LoRA adapter, every loss, RPO"

# ---- bad input: clear errors, nothing written ----
printf '{"prompt": "hi", "chosen": "a", "rejected": "b"}\n{"prompt": "hi", "chosen": "same", "rejected": "same"}\n' >"$T/same.jsonl"
"$BAIMO" dpo --model "$BASE" --data "$T/same.jsonl" --steps 1 --out "$T/bad" >"$T/bad.log" 2>&1 && fail "identical answers should fail"
grep -q "same.jsonl" "$T/bad.log" && grep -qi "line 2\|record 2" "$T/bad.log" && grep -q "the same answer as chosen" "$T/bad.log" \
  || { cat "$T/bad.log"; fail "the error should name the file, the record and the problem"; }
printf '{"prompt": "hi", "chosen": "", "rejected": "b"}\n' >"$T/empty.jsonl"
"$BAIMO" dpo --model "$BASE" --data "$T/empty.jsonl" --steps 1 --out "$T/bad" >"$T/bad2.log" 2>&1 && fail "an empty answer should fail"
grep -q "chosen" "$T/bad2.log" || { cat "$T/bad2.log"; fail "the error should name the field"; }
printf '{"prompt": "hi", "chosen": "a"\n' >"$T/broken.jsonl"
"$BAIMO" dpo --model "$BASE" --data "$T/broken.jsonl" --steps 1 --out "$T/bad" >"$T/bad3.log" 2>&1 && fail "malformed JSON should fail"
grep -q "broken.jsonl" "$T/bad3.log" || { cat "$T/bad3.log"; fail "the error should name the file"; }
"$BAIMO" dpo --model "$BASE" --data "$PREFS/dpo_zh_demo.json" --loss kto --steps 1 --out "$T/bad" >"$T/bad4.log" 2>&1 \
  && fail "an unknown loss should fail"
grep -q "sigmoid" "$T/bad4.log" || { cat "$T/bad4.log"; fail "the error should list the losses"; }
"$BAIMO" dpo --model "$BASE" --data "$PREFS/dpo_zh_demo.json" --rpo-alpha -1 --steps 1 --out "$T/bad" >"$T/bad5.log" 2>&1 \
  && fail "a negative rpo_alpha should fail"
grep -q "rpo_alpha" "$T/bad5.log" || { cat "$T/bad5.log"; fail "the error should name rpo_alpha"; }
[ ! -e "$T/bad" ] || fail "a failed run wrote $T/bad"
echo "bad input: clear errors, nothing written"
echo "PASS"
