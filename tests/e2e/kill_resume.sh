# Sourced by the training e2e tests: kill_resume_matches OUT_A OUT_B KILL_STEP FINAL_STEP CMD...
# runs CMD --out OUT_B, kills it with SIGKILL once it printed "step KILL_STEP/", resumes it with
# --resume, and fails unless the final checkpoint's weights and optimizer state and every step's
# loss equal those of the uninterrupted run in OUT_A (which must have run CMD to FINAL_STEP).
# Expects `fail` defined; sets and clears PID (for the caller's cleanup trap).
kill_resume_matches() {
  local a=$1 b=$2 kill_step=$3 final=$4
  shift 4
  "$@" --out "$b" >"$b.log1" 2>&1 & PID=$!
  for _ in $(seq 1 6000); do grep -q "^step $kill_step/" "$b.log1" 2>/dev/null && break; sleep 0.01; done
  grep -q "^step $kill_step/" "$b.log1" || { cat "$b.log1"; fail "never reached step $kill_step"; }
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  "$@" --out "$b" --resume >"$b.log2" 2>&1 || { cat "$b.log2"; fail "resume"; }
  grep -q "resumed at step [0-9]" "$b.log2" || { cat "$b.log2"; fail "did not resume from a checkpoint"; }
  local ckpt
  ckpt=checkpoints/$(printf 'step_%07d' "$final")
  for f in model.safetensors optimizer.safetensors; do
    cmp "$a/$ckpt/$f" "$b/$ckpt/$f" || fail "$f differs after kill -9 + resume"
  done
  local losses='"step": [0-9]*, "loss": [^,]*'
  diff <(grep -v '"event"' "$a/metrics.jsonl" | grep -o "$losses") <(grep -v '"event"' "$b/metrics.jsonl" | grep -o "$losses") \
    || fail "per-step losses differ after kill -9 + resume"
}
