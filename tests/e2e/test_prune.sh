#!/usr/bin/env bash
# `baimo prune` end to end on a tiny random-weight model (configs/tiny.json with the shared base's
# tokenizer):
#  - magnitude and wanda, 50% and 2:4: the output is a model directory (config, weights, tokenizer)
#    whose summary says 50.00% of the block linear weights are zero, and it loads and generates;
#  - --structured: a smaller config by importance (layers, KV groups, channels) that loads and generates;
#  - `baimo sft` of a pruned model says so and keeps every pruned weight at zero while the rest train;
#  - `quantize --type q8_0 --sparse 2:4` of a 2:4 model: the compact form (Q8_0_S24) is 12 bytes per 32
#    block weights smaller than Q8_0, generates the same greedy text, converts back to the same model
#    directory, and a LoRA over it trains as over the Q8_0 base; a model that is not 2:4 (unpruned, 50% unstructured), another type or pattern: clear
#    errors, no file;
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

# The compact 2:4 form: smaller than Q8_0 by 12 of 34 bytes per 32 block weights, the same text.
"$BAIMO" quantize --model "$T/wanda-2:4" --type q8_0 --out "$T/dense.gguf" >"$T/log" 2>&1 || { cat "$T/log"; fail "q8_0"; }
"$BAIMO" quantize --model "$T/wanda-2:4" --type q8_0 --sparse 2:4 --out "$T/s24.gguf" >"$T/log" 2>&1 ||
  { cat "$T/log"; fail "quantize --sparse 2:4"; }
/usr/bin/python3 - "$T/m/config.json" "$T/dense.gguf" "$T/s24.gguf" <<'PY' || fail "compact 2:4 size"
import json, os, sys
c = json.load(open(sys.argv[1]))
h, i, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
kv = c["num_key_value_heads"] * h // c["num_attention_heads"]
block = L * (2 * h * h + 2 * h * kv + 3 * h * i)
saved = os.path.getsize(sys.argv[2]) - os.path.getsize(sys.argv[3])
assert abs(saved - block * 12 / 32) < 0.01 * block * 12 / 32, (saved, block * 12 / 32)
PY
for f in dense s24; do
  "$BAIMO" generate --model "$T/$f.gguf" --prompt "To be" --max-tokens 16 --temperature 0 --quiet >"$T/$f.txt" ||
    fail "generate $f"
done
cmp -s "$T/dense.txt" "$T/s24.txt" || fail "compact 2:4 text differs: $(cat "$T/dense.txt") vs $(cat "$T/s24.txt")"
"$BAIMO" convert "$T/dense.gguf" "$T/dense-dir" >/dev/null 2>&1 && "$BAIMO" convert "$T/s24.gguf" "$T/s24-dir" >/dev/null 2>&1 ||
  fail "convert back"
cmp -s "$T/dense-dir/model.safetensors" "$T/s24-dir/model.safetensors" || fail "compact 2:4 converts back differently"
# A LoRA over the compact base trains exactly as over the dense Q8_0 base (the same rows at load).
for f in dense s24; do
  "$BAIMO" sft --model "$T/$f.gguf" --lora --data "$SHARED/data/sft/alpaca_en_demo.json" --out "$T/lora-$f" --steps 2 \
    --batch 2 --max-len 128 --threads 2 --peak-gflops 100 2>&1 | grep "^step 2/2 loss" | cut -d' ' -f1-4 >"$T/lora-$f.txt"
done
[ -s "$T/lora-s24.txt" ] && cmp -s "$T/lora-dense.txt" "$T/lora-s24.txt" ||
  fail "LoRA over the compact base: '$(cat "$T/lora-s24.txt")' vs dense '$(cat "$T/lora-dense.txt")'"
qbad() {
  local want=$1
  shift
  rm -f "$T/bad.gguf"
  if "$BAIMO" quantize "$@" --out "$T/bad.gguf" >"$T/err" 2>&1; then fail "accepted: quantize $*"; fi
  grep -q -- "$want" "$T/err" || { cat "$T/err"; fail "message for 'quantize $*' lacks '$want'"; }
  [ -z "$(ls "$T" | grep bad.gguf)" ] || fail "'quantize $*' left a file"
}
qbad "model.layers.0.self_attn.q_proj.weight is not 2:4-sparse: row 0, inputs" --model "$T/m" --type q8_0 --sparse 2:4
qbad "is not 2:4-sparse" --model "$T/magnitude-0.5" --type q8_0 --sparse 2:4
qbad "the compact 2:4 form is a Q8_0 form (--type q8_0), not Q4_0" --model "$T/wanda-2:4" --type q4_0 --sparse 2:4
qbad 'only the 2:4 pattern has a compact form, got "4:8"' --model "$T/wanda-2:4" --type q8_0 --sparse 4:8

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
