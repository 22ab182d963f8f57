#!/usr/bin/env bash
# `baimo ppo` end to end on the real base model of ../shared, with a reward model that `baimo rm train`
# makes from a few of baimo's arithmetic preference pairs (`baimo data arithmetic`):
#  - full PPO (2 PPO epochs x 2 mini-batches per rollout batch, adaptive KL, EOS penalty, reward
#    normalisation): the summary line, every logged metric (reward, kl, kl_coef, entropy, clip ratio,
#    value loss, policy loss, stop share, times, rollout tokens/s, the held-out greedy reward), the
#    final model, the value model in each checkpoint (a sequence-classification model); killed with
#    SIGKILL mid-run (after a checkpoint taken mid-batch) and resumed, it ends bit-identical (policy and
#    value);
#  - --value-init reward: the value model starts as the reward model;
#  - LoRA: a PEFT adapter for the policy, the value model's adapter + score head in the checkpoint;
#  - bad input (no reward, an unknown KL estimator, --value-init reward without a model reward or with
#    --lora, a missing reward model) is a clear error, exit 1.
# Usage: bash test_ppo.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
source "$(dirname "$0")/finetune_env.sh"

"$BAIMO" data arithmetic --out "$T/d" --train 40 --held-out 8 --digits 1 --seed 2 >/dev/null 2>&1 || fail "data arithmetic"
"$BAIMO" rm train --model "$BASE" --data "$T/d/prefs_train.jsonl" --val-fraction 0 --max-len 64 --max-prompt-len 48 \
  --batch 4 --steps 3 --lr 1e-4 --threads 2 --peak-gflops 1 --checkpoint-interval 0 --out "$T/rm" >"$T/rm.log" 2>&1 \
  || { cat "$T/rm.log"; fail "rm train"; }
RM="$T/rm/final"

ARGS=(ppo --model "$BASE" --data "$T/d/rl_train.jsonl" --eval-data "$T/d/eval_held_out.jsonl" --batch 4 --samples 2
      --max-new-tokens 10 --max-len 96 --steps 8 --ppo-epochs 2 --mini-batches 2 --checkpoint-interval 3
      --eval-interval 4 --eval-prompts 4 --seed 3 --threads 2 --lr 1e-5 --peak-gflops 1 --reward "model:$RM"
      --target-kl 0.1 --missing-eos-penalty 0.5 --normalize-reward)
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted full run"; }
grep -q "^ppo (full): .* 8 steps, 4 prompts x 2 samples per rollout batch, 2 epoch(s) x 2 mini-batch(es) each (40 training / 8 held-out prompts), kl_coef adaptive from 0.05 to target 0.1 (k1)" "$T/a.log" \
  || { cat "$T/a.log"; fail "summary line"; }
grep -q "^eval step 0: val_loss .*reward" "$T/a.log" || { cat "$T/a.log"; fail "no evaluation before training"; }
[ "$(losses "$T/a" | wc -l)" = 8 ] || fail "expected 8 step lines"
for k in reward reward_std reward/model score kl non_score_reward kl_coef entropy completion_length stop_share \
         policy_loss value_loss clip_ratio ratio_mean value_clip_frac time/generate_s time/score_s time/reference_s \
         rollout_tokens_per_s val_reward val_entropy; do
  grep -q "\"$k\"" "$T/a/metrics.jsonl" || fail "metrics.jsonl lacks $k"
done
# The adaptive coefficient moves after the first rollout batch (steps 1-4: 0.05; 5-8: another value).
/usr/bin/python3 - "$T/a/metrics.jsonl" <<'PY' || fail "kl_coef did not adapt"
import json, sys
c = [json.loads(l)["kl_coef"] for l in open(sys.argv[1]) if '"kl_coef"' in l]
assert abs(c[0] - 0.05) < 1e-7 and c[0] == c[3] and c[4] != c[0], c
PY
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -f "$T/a/final/$f" ] || fail "final/$f missing"
done
grep -q '"Qwen2ForSequenceClassification"' "$T/a/checkpoints/step_0000008/modules/value/config.json" \
  || fail "the checkpoint's value model is not a sequence-classification model"
"$BAIMO" plot "$T/a" --metric reward >"$T/plot.log" 2>&1 || { cat "$T/plot.log"; fail "plot --metric reward"; }

kill_resume_matches "$T/a" "$T/b" 7 8 "$BAIMO" "${ARGS[@]}"
cmp "$T/a/checkpoints/step_0000008/modules/value/model.safetensors" "$T/b/checkpoints/step_0000008/modules/value/model.safetensors" \
  || fail "the value model differs after kill -9 + resume"
echo "full: metrics, final model, value model, kill -9 + resume (checkpoint mid-batch) bit-identical"

"$BAIMO" ppo --model "$BASE" --data "$T/d/rl_train.jsonl" --batch 2 --max-new-tokens 8 --max-len 96 --steps 1 \
  --reward "model:$RM" --value-init reward --val-fraction 0 --threads 2 --peak-gflops 1 --out "$T/vr" >"$T/vr.log" 2>&1 \
  || { cat "$T/vr.log"; fail "--value-init reward"; }
grep -q "a value model (from the reward model)" "$T/vr.log" || { cat "$T/vr.log"; fail "--value-init reward summary"; }
echo "value-init reward: the value model starts as the reward model"

# ---- LoRA ----
"$BAIMO" ppo --model "$BASE" --data "$T/d/rl_train.jsonl" --batch 2 --samples 2 --max-new-tokens 8 --max-len 96 --steps 2 \
  --lora --lora-r 4 --reward "model:$RM" --val-fraction 0 --threads 2 --peak-gflops 1 --out "$T/lora" >"$T/lora.log" 2>&1 \
  || { cat "$T/lora.log"; fail "LoRA run"; }
grep -q "^ppo (LoRA): .*a value model (LoRA on the base)" "$T/lora.log" || { cat "$T/lora.log"; fail "LoRA summary"; }
for f in adapter_config.json adapter_model.safetensors; do [ -f "$T/lora/final/$f" ] || fail "LoRA final/$f missing"; done
/usr/bin/python3 - "$T/lora/checkpoints/step_0000002/modules/value/model.safetensors" <<'PY' || fail "LoRA value module"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
names = set(json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])) - {"__metadata__"}
assert "score.weight" in names and any("lora_A" in n for n in names), sorted(names)[:5]
PY
echo "LoRA: a PEFT adapter; the value model's adapter + score head checkpointed"

# ---- bad input: clear errors, exit 1 ----
bad() {  # bad NAME EXPECTED_TEXT ARGS...
  local name=$1 want=$2
  shift 2
  set +e
  "$BAIMO" ppo --model "$BASE" --data "$T/d/rl_train.jsonl" --max-new-tokens 8 --max-len 96 --steps 1 --batch 2 \
    --threads 2 --peak-gflops 1 --out "$T/bad_$name" "$@" >"$T/bad_$name.log" 2>&1
  local rc=$?
  set -e
  [ "$rc" = 1 ] || { cat "$T/bad_$name.log"; fail "$name: exit $rc, expected 1"; }
  grep -q -- "$want" "$T/bad_$name.log" || { cat "$T/bad_$name.log"; fail "$name: message lacks '$want'"; }
}
bad no_reward "needs at least one reward"
bad estimator "kl_estimator" --reward "model:$RM" --kl-estimator k9
bad value_init_no_rm "needs a model:DIR reward" --reward stop --value-init reward
bad value_init_lora "needs a full run" --reward "model:$RM" --value-init reward --lora
bad missing_rm "$T/nosuch" --reward "model:$T/nosuch"
echo "bad input: clear errors"
echo "PASS"
