#!/usr/bin/env bash
# baimo demo end to end, shortened: tokenizer trained, shards written, the model learns (final
# validation loss below the initial one), the run directory loads back, a sample is printed;
# and bad input is a clear error. Usage: bash test_demo.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BAIMO" demo --seconds 6 --out "$T/run" --sample-tokens 8 >"$T/out.txt" 2>&1 || { cat "$T/out.txt"; fail "demo exited non-zero"; }
cat "$T/out.txt"
for f in tokenizer.json data/index.json metrics.jsonl model/config.json model/model.safetensors model/tokenizer.json; do
  [ -s "$T/run/$f" ] || fail "missing $f"
done
"$BAIMO" model info --model "$T/run/model" | grep -q "weights      ok" || fail "saved model does not load"
echo "A language model" | "$BAIMO" tokenizer encode --tokenizer "$T/run/tokenizer.json" --json | grep -q '^\[' \
  || fail "trained tokenizer does not encode"
# Validation loss at step 0 (table row "0 - <val>") against the last evaluation in metrics.jsonl.
first=$(awk '$1 == 0 && $2 == "-" {print $3}' "$T/out.txt")
last=$(grep -o '"val_loss": [0-9.]*' "$T/run/metrics.jsonl" | tail -1 | awk '{print $2}')
[ -n "$first" ] && [ -n "$last" ] || fail "no validation losses printed"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "validation loss did not fall ($first -> $last)"
grep -q "samples" "$T/out.txt" || fail "no sample printed"

# Bad input: clear error, non-zero exit.
if "$BAIMO" demo --input "$T/nope.txt" --out "$T/bad" 2>"$T/err.txt"; then fail "missing input accepted"; fi
grep -q "nope.txt" "$T/err.txt" || fail "error does not name the file: $(cat "$T/err.txt")"
if "$BAIMO" demo --seconds 0 --out "$T/bad" 2>"$T/err.txt"; then fail "--seconds 0 accepted"; fi
echo "demo e2e ok"
