#!/usr/bin/env bash
# `baimo distill` end to end on tiny random-weight models (`baimo init`, configs/tiny.json with the
# shared base's tokenizer) and ../shared's data:
#  - chat data (answers only): killed with SIGKILL mid-run and resumed, it ends bit-identical to an
#    uninterrupted run (weights, AdamW moments, every step's loss); metrics.jsonl has the "distill"
#    and "ce" parts; OUT/final is a model directory with the tokenizer; the loss falls;
#  - token shards (`baimo data prepare`), generalised JSD, with a Q8_0 GGUF teacher;
#  - on-policy (--on-policy 0.5): the "on_policy" metric, kill -9 + resume bit-identical;
#  - a teacher cache (--teacher-cache, top-k 16): built once, 2 epochs trained from it; a second run with
#    the cache does not build it nor load the teacher, and a kill -9 + resume from it is bit-identical; a
#    kill -9 during the build leaves no file at the path, or the complete one (and a rebuild is byte-identical);
#    another top-k, teacher or temperature, --on-policy, --loss reverse_kl and token shards with a cache:
#    clear errors;
#  - mpirun -np 2 = 1 process (off-policy, live and from a teacher cache that rank 0 builds); on-policy under
#    mpirun: every rank makes the same choice;
#  - a resume with another --loss is refused (the trajectory keeps the loss settings);
#  - a student with another tokenizer, an unknown --loss, beta outside [0, 1]: clear errors, exit 1.
# Usage: bash test_distill.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/finetune_env.sh"

"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$BASE/tokenizer.json" --out "$T/teacher" --seed 1 >/dev/null
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$BASE/tokenizer.json" --out "$T/student" --seed 2 >/dev/null

# ---- chat data: kill -9 + resume is bit-identical ----
ARGS=(distill --teacher "$T/teacher" --student "$T/student" --data "$SHARED/data/sft/identity.json" --max-len 128
      --batch 2 --steps 6 --checkpoint-interval 3 --eval-interval 3 --val-fraction 0.1 --seed 3 --threads 2
      --lr 2e-3 --peak-gflops 1 --temperature 2 --ce-weight 0.5)
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted chat run"; }
grep -q "^distill: teacher" "$T/a.log" || { cat "$T/a.log"; fail "summary line"; }
grep -q "^eval step 0: val_loss" "$T/a.log" || { cat "$T/a.log"; fail "no evaluation before training"; }
[ "$(losses "$T/a" | wc -l)" = 6 ] || fail "expected 6 step lines"
grep -q '"distill": ' "$T/a/metrics.jsonl" && grep -q '"ce": ' "$T/a/metrics.jsonl" || fail "distill / ce metrics missing"
for f in config.json model.safetensors tokenizer.json; do [ -f "$T/a/final/$f" ] || fail "final/$f missing"; done
/usr/bin/python3 - "$T/a/metrics.jsonl" <<'PY' || fail "the distillation loss did not fall"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and "event" not in l and '"loss"' in l]
assert rows[-1]["distill"] < rows[0]["distill"], (rows[0], rows[-1])
PY
kill_resume_matches "$T/a" "$T/b" 4 6 "$BAIMO" "${ARGS[@]}"
echo "chat: kill -9 + resume bit-identical"

# ---- teacher cache: build once, 2 epochs from it; reuse without the teacher; kill -9 + resume bit-identical ----
TCB=(distill --student "$T/student" --data "$SHARED/data/sft/identity.json" --max-len 128 --batch 8 --epochs 2
     --checkpoint-interval 2 --eval-interval 0 --val-fraction 0.5 --seed 3 --threads 2 --lr 2e-3 --peak-gflops 1
     --ce-weight 0.5)  # without the teacher, the temperature and the cache flags
TC=("${TCB[@]}" --teacher "$T/teacher" --temperature 2 --teacher-cache "$T/kd.topk" --teacher-top-k 16)
"$BAIMO" "${TC[@]}" --out "$T/tc" >"$T/tc.log" 2>&1 || { cat "$T/tc.log"; fail "run building the teacher cache"; }
grep -q "^teacher cache: building $T/kd.topk with the teacher: [0-9]* positions, top-k 16" "$T/tc.log" \
  || { cat "$T/tc.log"; fail "no build line"; }
grep -q "^teacher cache: [0-9]* positions, top-k 16, [0-9.]* MB" "$T/tc.log" || { cat "$T/tc.log"; fail "no cache line"; }
grep -q "^distill: teacher cache (top-16)" "$T/tc.log" || { cat "$T/tc.log"; fail "summary without the cache"; }
STEPS=$(losses "$T/tc" | wc -l)
/usr/bin/python3 - "$T/tc/metrics.jsonl" "$T/tc/run_config.json" <<'PY' || fail "cached run: metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and "event" not in l and '"loss"' in l]
assert len(rows) >= 4 and rows[-1]["distill"] < rows[0]["distill"], rows
cfg = json.load(open(sys.argv[2]))
assert cfg["teacher_cache"].endswith("/kd.topk") and cfg["teacher_top_k"] == 16 and cfg["epochs"] == 2, cfg
PY
kill_resume_matches "$T/tc" "$T/tc2" 3 "$STEPS" "$BAIMO" "${TC[@]}"
for l in "$T/tc2.log1" "$T/tc2.log2"; do
  grep -q "^teacher cache: [0-9]* positions, top-k 16" "$l" || { cat "$l"; fail "second run: no cache line"; }
  ! grep -q "building" "$l" || { cat "$l"; fail "second run rebuilt the cache"; }
done
echo "teacher cache: built once, $STEPS steps (2 epochs) from it; reused without the teacher; kill -9 + resume bit-identical"
# A kill -9 while the cache is built leaves no file at its path (or, if the build had finished, the whole one).
KC=("${TCB[@]}" --teacher "$T/teacher" --temperature 2 --teacher-cache "$T/kill.topk" --teacher-top-k 16)
"$BAIMO" "${KC[@]}" --out "$T/tck" >"$T/tck.log" 2>&1 & PID=$!
for _ in $(seq 1 3000); do grep -q "^teacher cache: building" "$T/tck.log" 2>/dev/null && break; sleep 0.01; done
sleep 0.3; kill -9 "$PID" 2>/dev/null || { cat "$T/tck.log"; fail "the run to kill ended by itself"; }
wait "$PID" 2>/dev/null || true; PID=""
if [ -e "$T/kill.topk" ]; then cmp "$T/kill.topk" "$T/kd.topk" || fail "a killed build left a partial cache"; kept="the whole"
else kept="no"; fi
"$BAIMO" "${KC[@]}" --steps 1 --out "$T/tck2" >"$T/tck2.log" 2>&1 || { cat "$T/tck2.log"; fail "rebuild"; }
cmp "$T/kill.topk" "$T/kd.topk" || fail "a rebuilt cache differs from the first build"
echo "teacher cache: kill -9 during the build left $kept file at the path; the rebuild is byte-identical"

# ---- on-policy (GKD): half the micro-batches answered by the student; kill -9 + resume is bit-identical ----
OP=("${ARGS[@]}" --on-policy 0.5 --on-policy-max-new-tokens 12 --on-policy-temperature 1)
"$BAIMO" "${OP[@]}" --out "$T/op" >"$T/op.log" 2>&1 || { cat "$T/op.log"; fail "on-policy run"; }
grep -q "on-policy 0.5 (T 1, <= 12 tokens)" "$T/op.log" || { cat "$T/op.log"; fail "on-policy summary"; }
/usr/bin/python3 - "$T/op/metrics.jsonl" <<'PY' || fail "on_policy metric"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and "event" not in l and '"loss"' in l]
shares = [r["on_policy"] for r in rows]
assert len(shares) == 6 and all(s in (0, 0.5, 1) for s in shares) and 0 < sum(shares) < 6, shares
PY
kill_resume_matches "$T/op" "$T/op2" 4 6 "$BAIMO" "${OP[@]}"
echo "on-policy: metric, kill -9 + resume bit-identical"

# ---- data parallel: 2 ranks = 1 process (off-policy); on-policy runs under mpirun, one choice per step ----
source "$(dirname "$0")/mpi_env.sh"
MARGS=(distill --teacher "$T/teacher" --student "$T/student" --data "$SHARED/data/sft/identity.json" --max-len 128
       --batch 4 --steps 3 --val-fraction 0.1 --seed 3 --lr 2e-3 --peak-gflops 1 --checkpoint-interval 0 --ce-weight 0.5)
OMP_NUM_THREADS=2 "$BAIMO" "${MARGS[@]}" --threads 2 --out "$T/one" >"$T/one.log" 2>&1 || { cat "$T/one.log"; fail "1 process"; }
OMP_NUM_THREADS=1 timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${MARGS[@]}" --threads 1 --out "$T/two" >"$T/two.log" 2>&1 \
  || { cat "$T/two.log"; fail "mpirun -np 2"; }
OMP_NUM_THREADS=1 timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${MARGS[@]}" --threads 1 --on-policy 0.5 \
  --on-policy-max-new-tokens 8 --out "$T/two_op" >"$T/two_op.log" 2>&1 || { cat "$T/two_op.log"; fail "mpirun -np 2 on-policy"; }
# A cache under mpirun: rank 0 builds it while rank 1 waits; then 1 process reads the same file.
OMP_NUM_THREADS=1 timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${MARGS[@]}" --threads 1 --teacher-cache "$T/mpi.topk" \
  --out "$T/two_tc" >"$T/two_tc.log" 2>&1 || { cat "$T/two_tc.log"; fail "mpirun -np 2 with a teacher cache"; }
[ "$(grep -c '^teacher cache: building' "$T/two_tc.log")" = 1 ] || { cat "$T/two_tc.log"; fail "2 ranks: not one build"; }
OMP_NUM_THREADS=2 "$BAIMO" "${MARGS[@]}" --threads 2 --teacher-cache "$T/mpi.topk" --out "$T/one_tc" >"$T/one_tc.log" 2>&1 \
  || { cat "$T/one_tc.log"; fail "1 process with the 2 ranks' cache"; }
/usr/bin/python3 - "$T/one/metrics.jsonl" "$T/two/metrics.jsonl" "$T/two_op/metrics.jsonl" "$T/one_tc/metrics.jsonl" \
  "$T/two_tc/metrics.jsonl" <<'PY' || fail "2 ranks"
import json, sys
def read(p):
    return [json.loads(l) for l in open(p) if l.strip() and "event" not in l and '"loss"' in l]
a, b, c, d, e = (read(p) for p in sys.argv[1:6])
assert [r["step"] for r in a] == [r["step"] for r in b] == [r["step"] for r in c] == [1, 2, 3]
assert [r["step"] for r in d] == [r["step"] for r in e] == [1, 2, 3]
for one, two in ((a, b), (d, e)):
    for x, y in zip(one, two):
        for k in ("loss", "distill", "ce", "val_loss"):
            if k in x or k in y:
                assert abs(x[k] - y[k]) <= 1e-4 * abs(x[k]), (x["step"], k, x[k], y[k])
assert all(r["on_policy"] in (0, 1) for r in c), [r["on_policy"] for r in c]
PY
echo "data parallel: 2 ranks = 1 process (live teacher and teacher cache, built once by rank 0); on-policy under mpirun"

# ---- a resume must keep the loss settings ----
out=$("$BAIMO" "${ARGS[@]}" --loss reverse_kl --out "$T/a" --resume 2>&1) && fail "resume with another loss accepted"
grep -q "distill" <<<"$out" || fail "resume with another loss: unclear error: $out"

# ---- token shards, JSD, a Q8_0 GGUF teacher ----
head -c 60000 "$SHARED/data/pretrain/tinyshakespeare.txt" >"$T/corpus.txt"
"$BAIMO" data prepare --tokenizer "$BASE/tokenizer.json" --input "$T/corpus.txt" --out "$T/shards" --val-fraction 0.1 \
  >/dev/null 2>"$T/prep.log" || { cat "$T/prep.log"; fail "data prepare"; }
"$BAIMO" quantize --model "$T/teacher" --type q8_0 --out "$T/teacher.gguf" >/dev/null 2>&1 || fail "quantize the teacher"
"$BAIMO" distill --teacher "$T/teacher.gguf" --student "$T/student" --data "$T/shards" --max-len 64 --batch 2 --steps 2 \
  --loss jsd --beta 0.3 --eval-interval 2 --eval-rows 4 --checkpoint-interval 0 --threads 2 --peak-gflops 1 --out "$T/s" >"$T/s.log" 2>&1 \
  || { cat "$T/s.log"; fail "token-shard run with a GGUF teacher"; }
grep -q "token shards" "$T/s.log" || { cat "$T/s.log"; fail "shards summary"; }
grep -q "^eval step 2: val_loss .* ppl" "$T/s.log" || { cat "$T/s.log"; fail "no validation perplexity"; }
echo "token shards + jsd + q8_0 GGUF teacher: ok"

# ---- bad input ----
expect_error() {  # expect_error NEEDLE CMD...
  local needle=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] || fail "expected exit 1 from: $* (got $rc: $out)"
  grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' in: $out"
}
# The base's tokenizer with two ids swapped: same size, another token at those ids.
/usr/bin/python3 - "$BASE/tokenizer.json" "$T/other_tok.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1], encoding="utf-8"))
v = t["model"]["vocab"]
a, b = [k for k, i in v.items() if i in (300, 301)]
v[a], v[b] = v[b], v[a]
json.dump(t, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/other_tok.json" --out "$T/other" --seed 2 >/dev/null
SHORT=(--data "$SHARED/data/sft/identity.json" --max-len 64 --batch 2 --steps 1 --threads 2 --peak-gflops 1)
expect_error "do not share a tokenizer (id 300 is" "$BAIMO" distill --teacher "$T/teacher" --student "$T/other" "${SHORT[@]}" --out "$T/x1"
[ ! -e "$T/x1/checkpoints" ] || fail "a refused run wrote checkpoints"
expect_error "expected forward_kl, reverse_kl or jsd" "$BAIMO" distill --teacher "$T/teacher" --student "$T/student" --loss kl "${SHORT[@]}" --out "$T/x2"
expect_error "\"beta\" must be within [0, 1]" "$BAIMO" distill --teacher "$T/teacher" --student "$T/student" --loss jsd --beta 2 "${SHORT[@]}" --out "$T/x3"
expect_error "\"teacher\" (--teacher" "$BAIMO" distill --student "$T/student" "${SHORT[@]}" --out "$T/x4"
expect_error "\"on_policy\" must be within [0, 1]" "$BAIMO" distill --teacher "$T/teacher" --student "$T/student" --on-policy 1.5 "${SHORT[@]}" --out "$T/x5"
expect_error "token shards have none" "$BAIMO" distill --teacher "$T/teacher" --student "$T/student" --data "$T/shards" --on-policy 0.5 --max-len 64 --steps 1 --out "$T/x6"
expect_error "stale teacher cache: top-k 16, this run asks for --teacher-top-k 8" "$BAIMO" "${TCB[@]}" --teacher "$T/teacher" \
  --temperature 2 --teacher-cache "$T/kd.topk" --teacher-top-k 8 --out "$T/x7"
expect_error "stale teacher cache: built from teacher $T/teacher" "$BAIMO" "${TCB[@]}" --teacher "$T/student" \
  --temperature 2 --teacher-cache "$T/kd.topk" --teacher-top-k 16 --out "$T/x8"
expect_error "stale teacher cache: temperature 2, this run's --temperature is 1" "$BAIMO" "${TCB[@]}" --teacher "$T/teacher" \
  --teacher-cache "$T/kd.topk" --teacher-top-k 16 --out "$T/x12"
expect_error "on-policy batches are the student's own new answers" "$BAIMO" "${TC[@]}" --on-policy 0.5 --out "$T/x9"
expect_error "\"loss\" reverse_kl needs its whole distribution" "$BAIMO" "${TC[@]}" --loss reverse_kl --out "$T/x10"
expect_error "token shards are drawn as windows" "$BAIMO" distill --teacher "$T/teacher" --student "$T/student" --data "$T/shards" --max-len 64 --steps 1 --teacher-cache "$T/kd.topk" --out "$T/x11"
echo "bad input: clear errors"
echo "PASS"
