#!/usr/bin/env bash
# `baimo grpo` end to end on the real base model of ../shared and a verifiable task baimo generates
# (`baimo data arithmetic`: prompts with answers):
#  - full GRPO with two rollout steps per batch, rewards summed (match + regex + an external command):
#    the summary line, every logged metric (reward, reward/<part>, kl, clip ratios, stop share, times,
#    rollout tokens/s, the held-out greedy reward), the final model and held_out.jsonl; killed with
#    SIGKILL mid-run (after a checkpoint taken mid-batch) and resumed, it ends bit-identical;
#  - LoRA: a PEFT adapter;
#  - bad input (a prompt without the answer the match reward needs, an unknown reward, a reward command
#    that fails or prints no number, group 1) is a clear error naming the file / record / line, exit 1.
# Usage: bash test_grpo.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
source "$(dirname "$0")/finetune_env.sh"

"$BAIMO" data arithmetic --out "$T/d" --train 40 --held-out 8 --digits 1 --seed 2 >/dev/null 2>&1 || fail "data arithmetic"
# Reward command: the answer's length in characters / 100 (reads the JSON objects on stdin).
cat >"$T/len.py" <<'PY'
import json, sys
for line in sys.stdin:
    print(len(json.loads(line)["completion"]) / 100)
PY

ARGS=(grpo --model "$BASE" --data "$T/d/rl_train.jsonl" --eval-data "$T/d/eval_held_out.jsonl" --batch 4 --group 4
      --max-new-tokens 12 --max-len 96 --steps 6 --iterations 2 --checkpoint-interval 3 --eval-interval 3 --seed 3
      --threads 2 --lr 1e-5 --peak-gflops 1 --reward match --reward 'regex:[0-9]@0.5'
      --reward "command:/usr/bin/python3 $T/len.py@0.1")
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted full run"; }
grep -q "^grpo (full): .* 6 steps, 4 prompts x 4 samples per rollout batch, 2 step(s) each (40 training / 8 held-out prompts), beta 0.04, loss grpo" "$T/a.log" \
  || { cat "$T/a.log"; fail "summary line"; }
grep -q "^eval step 0: val_loss .*reward" "$T/a.log" || { cat "$T/a.log"; fail "no evaluation before training"; }
[ "$(losses "$T/a" | wc -l)" = 6 ] || fail "expected 6 step lines"
for k in reward reward_std frac_reward_zero_std completion_length stop_share kl clip_ratio/region ratio_mean \
         time/generate_s time/score_s rollout_tokens_per_s val_reward val_stop_share; do
  grep -q "\"$k\"" "$T/a/metrics.jsonl" || fail "metrics.jsonl lacks $k"
done
[ "$(grep -c '"reward/' "$T/a/metrics.jsonl")" -ge 6 ] || fail "metrics.jsonl lacks the reward parts"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -f "$T/a/final/$f" ] || fail "final/$f missing"
done
[ "$(wc -l <"$T/a/held_out.jsonl")" = 8 ] || fail "held_out.jsonl should hold the 8 held-out prompts"
"$BAIMO" plot "$T/a" --metric reward >"$T/plot.log" 2>&1 || { cat "$T/plot.log"; fail "plot --metric reward"; }

kill_resume_matches "$T/a" "$T/b" 5 6 "$BAIMO" "${ARGS[@]}"
echo "full: metrics, final model, kill -9 + resume (checkpoint mid-batch) bit-identical"

# ---- LoRA ----
"$BAIMO" grpo --model "$BASE" --data "$T/d/rl_train.jsonl" --batch 2 --group 2 --max-new-tokens 8 --max-len 96 --steps 2 \
  --lora --lora-r 4 --reward 'regex:[0-9]' --val-fraction 0 --threads 2 --peak-gflops 1 --out "$T/lora" >"$T/lora.log" 2>&1 \
  || { cat "$T/lora.log"; fail "LoRA run"; }
grep -q "^grpo (LoRA)" "$T/lora.log" || fail "LoRA summary"
for f in adapter_config.json adapter_model.safetensors; do [ -f "$T/lora/final/$f" ] || fail "LoRA final/$f missing"; done
echo "LoRA: a PEFT adapter"

# ---- bad input: clear errors, exit 1 ----
bad() {  # bad NAME EXPECTED_TEXT ARGS...
  local name=$1 want=$2
  shift 2
  set +e
  "$BAIMO" grpo --model "$BASE" --max-new-tokens 8 --max-len 96 --steps 1 --batch 2 --group 2 --threads 2 \
    --peak-gflops 1 --out "$T/bad_$name" "$@" >"$T/bad_$name.log" 2>&1
  local rc=$?
  set -e
  [ "$rc" = 1 ] || { cat "$T/bad_$name.log"; fail "$name: exit $rc, expected 1"; }
  grep -q -- "$want" "$T/bad_$name.log" || { cat "$T/bad_$name.log"; fail "$name: message lacks '$want'"; }
}
printf '{"prompt": "1 + 1 = ?", "answer": "2"}\n{"prompt": "2 + 2 = ?"}\n' >"$T/noanswer.jsonl"
bad no_answer "noanswer.jsonl: record 2, line 2" --data "$T/noanswer.jsonl" --val-fraction 0
bad unknown_reward "nosuch" --data "$T/d/rl_train.jsonl" --reward nosuch
bad group "group" --data "$T/d/rl_train.jsonl" --group 1
bad command_exit "exit" --data "$T/d/rl_train.jsonl" --val-fraction 0 --reward 'command:cat >/dev/null; exit 3'
bad command_text "not a finite number" --data "$T/d/rl_train.jsonl" --val-fraction 0 --reward 'command:while read l; do echo abc; done'
echo "bad input: clear errors"
echo "PASS"
