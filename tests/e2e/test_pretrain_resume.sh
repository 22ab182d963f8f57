#!/usr/bin/env bash
# baimo pretrain end to end: an uninterrupted run against the same run killed with kill -9 at several
# moments (one of them in the middle of writing a checkpoint) and resumed each time: the final
# model.safetensors bytes and every step's loss must be bit-identical (same --threads). Also: the
# spike guard rolls back on injected NaN losses, and bad settings are clear errors.
# Usage: bash test_pretrain_resume.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_WAIT_POLICY=passive   # 2 threads on a shared machine: no spinning

# Data: a byte-level BPE tokenizer trained on the guide, the guide tokenized into shards with
# `baimo data prepare` (10% of the paragraphs held out for validation).
"$BAIMO" tokenizer train --input "$ROOT/docs/guide.md" --vocab-size 320 --out "$T/tokenizer.json" >"$T/prep.log" 2>&1 \
  || { cat "$T/prep.log"; fail "tokenizer train"; }
"$BAIMO" data prepare --tokenizer "$T/tokenizer.json" --input "$ROOT/docs/guide.md" --out "$T/data" \
  --val-fraction 0.1 --seed 1 >>"$T/prep.log" 2>&1 || { cat "$T/prep.log"; fail "data prepare"; }
cat >"$T/model.json" <<'EOF'
{"model_type": "llama", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
 "tie_word_embeddings": true}
EOF
cat >"$T/run.json" <<EOF
{"config": "$T/model.json", "data": "$T/data", "steps": 40, "batch": 4, "seq": 32, "lr": 0.003, "min_lr": 0.0003,
 "warmup": 4, "schedule": "wsd", "eval_interval": 10, "eval_batches": 2, "checkpoint_interval": 5, "keep": 2,
 "threads": 2, "peak_gflops": 100}
EOF

# Per-step losses (step lines only, as written) of a run directory.
losses() { grep -v '"event"' "$1/metrics.jsonl" | grep -o '"step": [0-9]*, "loss": [^,]*'; }

# 1. Uninterrupted.
"$BAIMO" pretrain --run-config "$T/run.json" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "run a"; }
grep -q "eval step 40: val_loss" "$T/a.log" || { cat "$T/a.log"; fail "no eval line"; }
grep -q "step 40/40 loss" "$T/a.log" || fail "no progress line"
[ "$(losses "$T/a" | wc -l)" = 40 ] || fail "metrics.jsonl of run a has $(losses "$T/a" | wc -l) step lines"
[ -s "$T/a/final/model.safetensors" ] || fail "no final model"
cmp "$T/tokenizer.json" "$T/a/final/tokenizer.json" || fail "final model without the data's tokenizer.json"
[ "$(ls "$T/a/checkpoints")" = "$(printf 'step_0000035\nstep_0000040')" ] || fail "--keep 2: $(ls "$T/a/checkpoints")"
"$BAIMO" model info --model "$T/a/final" | grep -q "weights      ok" || fail "final model does not load"

# 2. The same run, killed with -9 and resumed (resume reads run_dir/run_config.json).
export BAIMO_TEST_CHECKPOINT_DELAY_MS=60   # each checkpoint takes ~0.25 s to write
start() { "$BAIMO" pretrain "$@" >>"$T/b.log" 2>&1 & PID=$!; }
# 2a. Killed in the middle of writing a checkpoint: as soon as a temp checkpoint directory appears.
start --run-config "$T/run.json" --out "$T/b"
for _ in $(seq 1 400); do
  ls -a "$T/b/checkpoints" 2>/dev/null | grep -q '^\.tmp_step_0000010' && break
  sleep 0.01
done
ls -a "$T/b/checkpoints" | grep -q '^\.tmp_step' || fail "no checkpoint being written was seen"
kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
ls -a "$T/b/checkpoints" | grep -q '^\.tmp_step' || fail "the temp checkpoint vanished before the kill"
# 2b. Resumed, killed after a while (twice), then resumed to the end without delays.
for delay in 0.9 0.6; do
  start --out "$T/b" --resume
  sleep "$delay"
  kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
done
unset BAIMO_TEST_CHECKPOINT_DELAY_MS
"$BAIMO" pretrain --out "$T/b" --resume >>"$T/b.log" 2>&1 || { cat "$T/b.log"; fail "final resume"; }
grep -q "resumed from" "$T/b.log" || { cat "$T/b.log"; fail "never resumed"; }
grep -c "resumed from" "$T/b.log"
if ls -a "$T/b/checkpoints" | grep -q '^\.tmp_'; then fail "temp checkpoint left after resume"; fi
cmp "$T/a/final/model.safetensors" "$T/b/final/model.safetensors" || fail "final weights differ after kill -9 + resume"
diff <(losses "$T/a") <(losses "$T/b") || fail "per-step losses differ after kill -9 + resume"
echo "kill -9 + resume: bit-identical weights and losses"

# 3. Spike guard: NaN losses on windows 40..59 (steps 11..15) => skipped updates, a rollback to step 10.
"$BAIMO" pretrain --run-config "$T/run.json" --out "$T/c" --spike-patience 2 --debug-poison-windows 40:60 \
  --debug-poison-scale nan >"$T/c.log" 2>&1 || { cat "$T/c.log"; fail "spike run"; }
grep -q '"event": "rollback", "step": 12, "to_step": 10' "$T/c/metrics.jsonl" || { cat "$T/c/metrics.jsonl"; fail "no rollback"; }
grep -q '"event": "skip", "step": 11, "reason": "nonfinite"' "$T/c/metrics.jsonl" || fail "no skip event"
grep -q "rolled back" "$T/c.log" || fail "rollback not printed"
grep -q '"step": 40, "loss": [0-9]' "$T/c/metrics.jsonl" || fail "spike run did not finish with a finite loss"

# 3b. --init: continuing from run a's final model starts far below run a's first loss.
"$BAIMO" pretrain --init "$T/a/final" --data "$T/data" --out "$T/d" --steps 2 --batch 4 --seq 32 --warmup 0 \
  --threads 2 --peak-gflops 100 >"$T/d.log" 2>&1 || { cat "$T/d.log"; fail "--init run"; }
first_a=$(losses "$T/a" | head -1 | awk '{print $4}')
first_d=$(losses "$T/d" | head -1 | awk '{print $4}')
awk -v a="$first_a" -v d="$first_d" 'BEGIN { exit !(d < a - 0.5) }' || fail "--init did not start from the model ($first_a -> $first_d)"

# 4. Bad settings are clear errors.
echo '{"stpes": 3}' >"$T/bad.json"
if "$BAIMO" pretrain --run-config "$T/bad.json" --out "$T/x" 2>"$T/err"; then fail "unknown key accepted"; fi
grep -q 'stpes' "$T/err" || fail "unknown key not named: $(cat "$T/err")"
if "$BAIMO" pretrain --run-config "$T/run.json" --out "$T/x" --schedule linear 2>"$T/err"; then fail "bad schedule accepted"; fi
grep -q '"schedule"' "$T/err" || fail "schedule not named: $(cat "$T/err")"
if "$BAIMO" pretrain --run-config "$T/run.json" --out "$T/a" 2>"$T/err"; then fail "overwrote a run without --resume"; fi
grep -q -- '--resume' "$T/err" || fail "$(cat "$T/err")"
if "$BAIMO" pretrain --run-config "$T/run.json" --out "$T/b" --resume --batch 8 2>"$T/err"; then fail "changed batch on resume"; fi
grep -q '"batch"' "$T/err" || fail "$(cat "$T/err")"
echo "pretrain e2e ok"
