#!/usr/bin/env bash
# `baimo lora merge / export` and `--lora` end to end (issue 12): a PEFT adapter merged into a model
# directory generates what `generate --lora` generates on the base (and not what the base does);
# `lora export` writes a GGUF adapter; and every bad adapter (missing directory or files, not LoRA,
# DoRA, fan_in_fan_out, a wrong rank, another base's shapes, a missing tensor) is exit 1 with a
# message naming the file, with nothing written at --out (an existing --out is left as it was).
# Usage: bash test_lora_cli.sh path/to/baimo
set -euo pipefail
export LC_ALL=C OMP_NUM_THREADS=2
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
ADAPTER="$PY $ROOT/tests/e2e/lora_adapter.py"

expect_fail() {
  local needle=$1; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || { cat "$T/err"; fail "exit $rc (expected 1) for: $*"; }
  grep -qF -- "$needle" "$T/err" || { cat "$T/err"; fail "message for '$*' lacks '$needle'"; }
  if grep -q "internal error" "$T/err"; then cat "$T/err"; fail "internal error for: $*"; fi
}

head -c 60000 "$ROOT/docs/guide.md" >"$T/text.txt"
"$BAIMO" tokenizer train --input "$T/text.txt" --vocab-size 400 --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer train"
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tok.json" --out "$T/m" --seed 1 >/dev/null || fail "init"
$ADAPTER "$T/m" "$T/a" --r 4 --alpha 16 --b-std 0.5

# ---- the good path ----------------------------------------------------------------------------
"$BAIMO" lora merge --model "$T/m" --adapter "$T/a" --out "$T/merged" >/dev/null || fail "lora merge"
for f in config.json model.safetensors tokenizer.json generation_config.json; do
  [ -f "$T/merged/$f" ] || fail "merged model lacks $f"
done
gen() { "$BAIMO" generate "$@" --prompt "the model" --temperature 0 --max-tokens 16 --ignore-eos --quiet; }
base=$(gen --model "$T/m")
merged=$(gen --model "$T/merged")
lora=$(gen --model "$T/m" --lora "$T/a")
[ "$lora" = "$merged" ] || fail "generate --lora gave '$lora', the merged model '$merged'"
[ "$lora" != "$base" ] || fail "the adapter does not change the greedy text ('$base'): the test cannot fail"
"$BAIMO" quantize --model "$T/m" --type f32 --out "$T/m.gguf" >/dev/null 2>&1 || fail "quantize"
lora_gguf=$(gen --model "$T/m.gguf" --lora "$T/a")
[ "$lora_gguf" = "$merged" ] || fail "generate on a GGUF base with --lora gave '$lora_gguf', merged '$merged'"
"$BAIMO" lora merge --model "$T/m.gguf" --adapter "$T/a" --out "$T/merged_from_gguf" >/dev/null || fail "merge from GGUF"
[ "$(gen --model "$T/merged_from_gguf")" = "$merged" ] || fail "merge from a GGUF base differs"
"$BAIMO" lora export --model "$T/m" --adapter "$T/a" --out "$T/a.gguf" >/dev/null || fail "lora export"
[ "$(head -c 4 "$T/a.gguf")" = GGUF ] || fail "lora export wrote no GGUF"
"$BAIMO" eval run --help | grep -q -- "--lora" || fail "eval run has no --lora"
"$BAIMO" serve --help | grep -q -- "--lora" || fail "serve has no --lora"
"$BAIMO" chat --help | grep -q -- "--lora" || fail "chat has no --lora"

# ---- bad adapters: exit 1, a message naming the file, nothing at --out --------------------------
bad() {  # bad NAME: a fresh copy of the good adapter to break
  rm -rf "$T/bad_$1"
  cp -r "$T/a" "$T/bad_$1"
  echo "$T/bad_$1"
}
edit_cfg() {  # edit_cfg DIR PYTHON-EXPR-ON-c
  $PY - "$1/adapter_config.json" "$2" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
PYEOF
}
B=$(bad nodir); rm -rf "$B"
expect_fail "bad_nodir" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad noconfig); rm "$B/adapter_config.json"
expect_fail "adapter_config.json" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad noweights); rm "$B/adapter_model.safetensors"
expect_fail "adapter_model.safetensors" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad prefix); edit_cfg "$B" 'c["peft_type"] = "PREFIX_TUNING"'
expect_fail "PREFIX_TUNING" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad dora); edit_cfg "$B" 'c["use_dora"] = True'
expect_fail "use_dora" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad fifo); edit_cfg "$B" 'c["fan_in_fan_out"] = True'
expect_fail "fan_in_fan_out" "$BAIMO" lora export --model "$T/m" --adapter "$B" --out "$T/o1.gguf"
B=$(bad rank); edit_cfg "$B" 'c["r"] = 8'
expect_fail "adapter_model.safetensors" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
B=$(bad json); echo '{"peft_type": "LORA",' >"$B/adapter_config.json"
expect_fail "not valid JSON" "$BAIMO" lora export --model "$T/m" --adapter "$B" --out "$T/o1.gguf"
B=$(bad tensor); $PY - "$B/adapter_model.safetensors" "$ROOT/tests/reference" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[2])
import safetensors_io as st
t = st.read(sys.argv[1])
del t["base_model.model.model.layers.2.mlp.up_proj.lora_B.weight"]
st.write(sys.argv[1], t)
PYEOF
expect_fail "layers.2.mlp.up_proj.lora_B.weight" "$BAIMO" lora merge --model "$T/m" --adapter "$B" --out "$T/o1"
# Another base (wider): the shapes do not fit.
$PY - "$ROOT/configs/tiny.json" "$T/wide.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["hidden_size"] = 192; json.dump(c, open(sys.argv[2], "w"))
PYEOF
"$BAIMO" init --config "$T/wide.json" --tokenizer "$T/tok.json" --out "$T/wide" --seed 1 >/dev/null
expect_fail "adapter_model.safetensors" "$BAIMO" lora merge --model "$T/wide" --adapter "$T/a" --out "$T/o1"
expect_fail "adapter_model.safetensors" "$BAIMO" generate --model "$T/wide" --lora "$T/a" --prompt hi
expect_fail "adapter_config.json" "$BAIMO" generate --model "$T/m" --lora "$T/bad_noconfig" --prompt hi
expect_fail "f32 or f16" "$BAIMO" lora export --model "$T/m" --adapter "$T/a" --out "$T/o1.gguf" --type q8_0
[ ! -e "$T/o1" ] && [ ! -e "$T/o1.gguf" ] || fail "a failed command left output behind"
ls -A "$T" | grep -q partial && fail "a staging directory was left behind"
# An existing --out survives a failed merge untouched.
before=$(cd "$T/merged" && sha256sum model.safetensors)
expect_fail "use_dora" "$BAIMO" lora merge --model "$T/m" --adapter "$T/bad_dora" --out "$T/merged"
[ "$(cd "$T/merged" && sha256sum model.safetensors)" = "$before" ] || fail "a failed merge changed the existing --out"
echo "OK: lora merge / export / --lora"
