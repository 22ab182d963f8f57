#!/usr/bin/env bash
# Data-parallel pretraining over OpenMPI on loopback: the whole path a person runs (tokenizer train ->
# data prepare -> pretrain), then `mpirun -np 2 baimo pretrain` against 1 process with the same global
# batch: every step's loss and every validation loss agree to 1e-5 relative; only rank 0 writes
# (one metrics line per step, checkpoints, final model); the run plots; a rank's error ends the job.
# Usage: bash test_pretrain_mpi.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/mpi_env.sh"
export OMP_WAIT_POLICY=passive

cat "$ROOT"/docs/*.md >"$T/corpus.txt"
"$BAIMO" tokenizer train --input "$T/corpus.txt" --vocab-size 320 --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer"
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus.txt" --out "$T/data" --val-fraction 0.1 \
  >/dev/null 2>&1 || fail "data prepare"
cat >"$T/model.json" <<'JSON'
{"model_type": "llama", "vocab_size": 320, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
 "tie_word_embeddings": true}
JSON
ARGS=(pretrain --config "$T/model.json" --data "$T/data" --steps 12 --seq 32 --lr 0.003 --min-lr 0.0003
      --warmup 2 --eval-interval 4 --eval-batches 2 --checkpoint-interval 6 --threads 1 --peak-gflops 100)

"$BAIMO" "${ARGS[@]}" --batch 4 --out "$T/one" >"$T/one.log" 2>&1 || { cat "$T/one.log"; fail "1 process"; }
timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${ARGS[@]}" --batch 4 --out "$T/two" >"$T/two.log" 2>&1 \
  || { cat "$T/two.log"; fail "mpirun -np 2"; }
[ "$(grep -o 'step 12/12 loss' "$T/two.log" | wc -l)" = 1 ] || { cat "$T/two.log"; fail "expected one progress line per step (rank 0 only)"; }
[ -s "$T/two/final/model.safetensors" ] || fail "no final model from rank 0"
[ -d "$T/two/checkpoints/step_0000012" ] || fail "no checkpoint from rank 0: $(ls "$T/two/checkpoints")"

/usr/bin/python3 - "$T/one/metrics.jsonl" "$T/two/metrics.jsonl" <<'PY' || fail "losses differ"
import json, sys
def read(p):
    rows = [json.loads(l) for l in open(p) if l.strip()]
    assert all("event" not in r for r in rows), p
    return rows
a, b = read(sys.argv[1]), read(sys.argv[2])
assert [r["step"] for r in a] == list(range(1, 13)) and [r["step"] for r in b] == list(range(1, 13)), (len(a), len(b))
worst = 0.0
for x, y in zip(a, b):
    for k in ("loss", "val_loss"):
        if k in x or k in y:
            rel = abs(x[k] - y[k]) / abs(x[k])
            worst = max(worst, rel)
            assert rel <= 1e-5, (x["step"], k, x[k], y[k], rel)
assert sum("val_loss" in r for r in b) == 3
assert b[-1]["loss"] < b[0]["loss"] - 0.3, (b[0]["loss"], b[-1]["loss"])  # it learns
print("max relative difference", worst)
PY

"$BAIMO" plot "$T/two" >/dev/null || fail "plot"
/usr/bin/python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$T/two/loss.svg" || fail "plot XML"

# A batch that does not split over the ranks: an error on every rank, mpirun ends (no hang).
set +e
timeout 120 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${ARGS[@]}" --batch 3 --out "$T/bad" >"$T/bad.log" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$T/bad.log"; fail "exit $rc for an odd batch over 2 ranks"; }
grep -q "batch 3 must be a multiple of the number of ranks 2" "$T/bad.log" || { cat "$T/bad.log"; fail "message"; }
echo "ok"
