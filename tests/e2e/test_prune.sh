#!/usr/bin/env bash
# `baimo prune` end to end on a tiny random-weight model (configs/tiny.json with the shared base's
# tokenizer):
#  - magnitude and wanda, 50% and 2:4: the output is a model directory (config, weights, tokenizer)
#    whose summary says 50.00% of the block linear weights are zero, and it loads and generates;
#  - --structured: a smaller config by importance (layers, KV groups, channels) that loads and generates;
#  - `baimo sft` of a pruned model says so and keeps every pruned weight at zero while the rest train;
#  - bad flags are clear errors, exit non-zero, and write nothing: no --sparsity/--pattern, both,
#    sparsity 0 / 1, a bad pattern, N:M that does not divide a layer's inputs, wanda without --calib,
#    an unknown method, --out over the input model, an existing output model without --force.
# Usage: bash test_prune.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
BASE="$SHARED/models/base-small-zh-en"
[ -d "$BASE" ] || { echo "SKIP: $BASE not found"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=2

"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$BASE/tokenizer.json" --out "$T/m" --seed 3 >/dev/null
head -c 20000 "$SHARED/data/pretrain/tinyshakespeare.txt" >"$T/calib.txt"

for method in magnitude wanda; do
  for flag in "--sparsity 0.5" "--pattern 2:4"; do
    out="$T/$method-${flag##* }"
    extra=()
    [ "$method" = wanda ] && extra=(--calib "$T/calib.txt" --calib-tokens 1024 --seq 128)
    # shellcheck disable=SC2086
    "$BAIMO" prune --model "$T/m" --method "$method" $flag "${extra[@]}" --out "$out" >"$T/log" 2>&1 ||
      { cat "$T/log"; fail "prune $method $flag"; }
    grep -q "^total: 50.00% of the" "$T/log" || { cat "$T/log"; fail "$method $flag: no 50% total"; }
    grep -q "model.layers.3.mlp.down_proj.weight .*50.00%" "$T/log" || fail "$method $flag: no per-matrix line"
    grep -q "^layer 3 .*50.00%" "$T/log" || fail "$method $flag: no per-layer line"
    for f in config.json model.safetensors tokenizer.json generation_config.json; do
      [ -f "$out/$f" ] || fail "$method $flag: $f missing"
    done
    txt=$("$BAIMO" generate --model "$out" --prompt "To be" --max-tokens 8 --seed 1 --quiet)
    [ -n "$txt" ] || fail "$method $flag: the pruned model generated nothing"
  done
done
grep -q "wanda 2:4, 8x128 calibration tokens" "$T/log" || { cat "$T/log"; fail "no calibration summary"; }

# Structured: a smaller config (3 of 4 layers, 1 of 2 KV groups, 256 of 352 MLP channels) by importance.
/usr/bin/python3 - "$T/m/config.json" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1, intermediate_size=256)
json.dump(c, open(sys.argv[2] + "/small.json", "w"))
c.update(hidden_size=64)
json.dump(c, open(sys.argv[2] + "/narrow.json", "w"))
PY
"$BAIMO" prune --model "$T/m" --structured "$T/small.json" --calib "$T/calib.txt" --calib-tokens 1024 --seq 128 \
  --out "$T/structured" >"$T/log" 2>&1 || { cat "$T/log"; fail "structured prune"; }
grep -q "layers 4 -> 3, heads 4/2 -> 2/1, intermediate 352 -> 256 (8x128 calibration tokens" "$T/log" \
  || { cat "$T/log"; fail "no structured summary"; }
[ "$(grep -c "^[0-3] .* yes " "$T/log")" = 3 ] || { cat "$T/log"; fail "not 3 layers kept"; }
grep -q '"num_hidden_layers": 3' "$T/structured/config.json" || fail "structured config"
txt=$("$BAIMO" generate --model "$T/structured" --prompt "To be" --max-tokens 8 --seed 1 --quiet)
[ -n "$txt" ] || fail "the structured-pruned model generated nothing"

# Training a pruned model keeps its zeros (sft and pretrain --init; compress/zero_mask.h).
"$BAIMO" sft --model "$T/magnitude-0.5" --data "$SHARED/data/sft/alpaca_en_demo.json" --out "$T/sft" --steps 3 \
  --batch 2 --max-len 128 --lr 1e-3 --threads 2 --peak-gflops 100 >"$T/sft.log" 2>&1 || { cat "$T/sft.log"; fail "sft"; }
grep -q "baimo sft: note: 28 block matrices hold 50.00% zeros" "$T/sft.log" || { cat "$T/sft.log"; fail "no sft note"; }
/usr/bin/python3 - "$ROOT/tests/reference" "$T/magnitude-0.5/model.safetensors" "$T/sft/final/model.safetensors" <<'PY' \
  || fail "sft lost the zeros"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import safetensors_io as st
pruned, trained = st.read(sys.argv[2]), st.read(sys.argv[3])
blocks = [k for k in pruned if ".layers." in k and k.endswith("proj.weight")]
assert len(blocks) == 28, blocks
for k in blocks:
    assert np.all(trained[k][pruned[k] == 0] == 0), k + ": a pruned weight moved"
    assert np.mean(trained[k] == 0) == 0.5, k
assert any(np.any(trained[k] != pruned[k]) for k in blocks), "nothing trained"
PY

# Bad flags: exit non-zero, a clear message, nothing written.
bad() {
  local want=$1
  shift
  local out="$T/bad"
  rm -rf "$out"
  if "$BAIMO" prune "$@" >"$T/err" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$want" "$T/err" || { cat "$T/err"; fail "message for '$*' lacks '$want'"; }
  [ ! -e "$out" ] || fail "'$*' wrote $out"
}
M=(--model "$T/m" --out "$T/bad")
bad "exactly one of --sparsity" "${M[@]}" --method magnitude
bad "exactly one of --sparsity" "${M[@]}" --method magnitude --sparsity 0.5 --pattern 2:4
bad "must be in (0, 1)" "${M[@]}" --method magnitude --sparsity 0
bad "must be in (0, 1)" "${M[@]}" --method magnitude --sparsity 1
bad "0 < N < M" "${M[@]}" --method magnitude --pattern 4:4
bad "expected N:M" "${M[@]}" --method magnitude --pattern 2x4
bad "model.layers.0.self_attn.q_proj.weight (128, 128) with 3:256: the input dimension 128 is not divisible by M = 256" \
  "${M[@]}" --method magnitude --pattern 3:256
bad "needs calibration text" "${M[@]}" --method wanda --sparsity 0.5
bad "expected magnitude or wanda" "${M[@]}" --method random --sparsity 0.5
bad "is the input model directory" --model "$T/m" --out "$T/m/" --method magnitude --sparsity 0.5
bad "reads a model directory" --model "$T/calib.txt" --out "$T/bad" --method magnitude --sparsity 0.5
bad "give --method magnitude|wanda" "${M[@]}" --sparsity 0.5
bad "takes no --method" "${M[@]}" --structured "$T/small.json" --method wanda --calib "$T/calib.txt"
bad "measures importance on calibration text" "${M[@]}" --structured "$T/small.json"
bad "hidden_size 64 differs from the model's 128" "${M[@]}" --structured "$T/narrow.json" --calib "$T/calib.txt"
if "$BAIMO" prune --model "$T/m" --method magnitude --sparsity 0.5 --out "$T/wanda-2:4" >"$T/err" 2>&1; then
  fail "overwrote an existing model without --force"
fi
grep -q "pass --force" "$T/err" || fail "no --force hint"
echo "prune e2e: OK"
