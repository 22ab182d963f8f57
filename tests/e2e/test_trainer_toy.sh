#!/usr/bin/env bash
# The generic Trainer over a two-module, two-optimizer toy objective (baimo debug-train-toy, the
# "policy" and "value" modules of train/objectives/toy.h): killed with SIGKILL mid-run (once mid-step,
# once while writing a checkpoint) and resumed, it ends bit-identical to an uninterrupted run (weights,
# AdamW moments of both modules, every step's loss); under mpirun -np 2 it matches 1 process.
# Usage: bash test_trainer_toy.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/mpi_env.sh"
ARGS=(debug-train-toy --steps 60 --batch 8 --grad-accum 2 --checkpoint-interval 5 --seed 7)
losses() { grep -v '"event"' "$1/metrics.jsonl" | grep -o '"step": [0-9]*, "loss": [^,]*'; }

"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted run"; }
[ "$(losses "$T/a" | wc -l)" = 60 ] || fail "expected 60 step lines"
grep -q '"policy_loss": ' "$T/a/metrics.jsonl" && grep -q '"value_loss": ' "$T/a/metrics.jsonl" || fail "named metrics missing"

# Killed with SIGKILL after step 23 had been printed (mid-run, between checkpoints 20 and 25).
"$BAIMO" "${ARGS[@]}" --out "$T/b" --step-delay-ms 100 >"$T/b1.log" 2>&1 & PID=$!
for _ in $(seq 1 600); do grep -q '^step 23 ' "$T/b1.log" 2>/dev/null && break; sleep 0.01; done
grep -q '^step 23 ' "$T/b1.log" || { cat "$T/b1.log"; fail "never reached step 23"; }
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
# Resumed and killed again while a checkpoint is being written (a temp checkpoint directory exists).
BAIMO_TEST_CHECKPOINT_DELAY_MS=100 "$BAIMO" "${ARGS[@]}" --out "$T/b" --resume >"$T/b2.log" 2>&1 & PID=$!
for _ in $(seq 1 600); do ls -a "$T/b/checkpoints" | grep -q '^\.tmp_step_0000030' && break; sleep 0.01; done
ls -a "$T/b/checkpoints" | grep -q '^\.tmp_step' || { cat "$T/b2.log"; fail "no checkpoint being written was seen"; }
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
grep -q "resumed at step 20" "$T/b2.log" || { cat "$T/b2.log"; fail "did not resume at step 20"; }
"$BAIMO" "${ARGS[@]}" --out "$T/b" --resume >"$T/b3.log" 2>&1 || { cat "$T/b3.log"; fail "final resume"; }
grep -q "resumed at step 25" "$T/b3.log" || { cat "$T/b3.log"; fail "did not resume at step 25"; }
for f in model.safetensors optimizer.safetensors modules/value/model.safetensors modules/value/optimizer.safetensors; do
  cmp "$T/a/checkpoints/step_0000060/$f" "$T/b/checkpoints/step_0000060/$f" || fail "$f differs after kill -9 + resume"
done
diff <(losses "$T/a") <(losses "$T/b") || fail "per-step losses differ after kill -9 + resume"
echo "kill -9 + resume: bit-identical (two modules, two optimizers)"

# Data parallel: 2 ranks (4 samples of each micro-batch each) against 1 process.
timeout 120 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${ARGS[@]}" --out "$T/two" >"$T/two.log" 2>&1 \
  || { cat "$T/two.log"; fail "mpirun -np 2"; }
[ "$(grep -c '^step 60 ' "$T/two.log")" = 1 ] || { cat "$T/two.log"; fail "expected one line per step (rank 0)"; }
[ -s "$T/two/checkpoints/step_0000060/modules/value/optimizer.safetensors" ] || fail "no checkpoint from rank 0"
/usr/bin/python3 - "$T/a/metrics.jsonl" "$T/two/metrics.jsonl" <<'PY' || fail "2 ranks differ from 1 process"
import json, sys
def read(p):
    return [json.loads(l) for l in open(p) if l.strip() and "event" not in l]
a, b = read(sys.argv[1]), read(sys.argv[2])
assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 61))
worst = 0.0
for x, y in zip(a, b):
    for k in ("loss", "policy_loss", "value_loss", "val_loss"):
        if k in x or k in y:
            rel = abs(x[k] - y[k]) / max(abs(x[k]), 1e-12)
            worst = max(worst, rel)
            assert abs(x[k] - y[k]) <= 1e-4 * abs(x[k]) + 1e-7, (x["step"], k, x[k], y[k], rel)
assert b[-1]["loss"] < 0.5 * b[0]["loss"], (b[0]["loss"], b[-1]["loss"])
print("max relative difference", worst)
PY
echo "ok"
