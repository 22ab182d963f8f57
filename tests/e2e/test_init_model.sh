#!/usr/bin/env bash
# baimo init / model info end to end: a model directory from each shipped config, vocab_size from a
# tokenizer.json (copied in), bf16 storage, and clear errors (exit 1, message naming the file) for
# bad input. Usage: bash test_init_model.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for c in tiny small; do
  "$BAIMO" init --config "$ROOT/configs/$c.json" --out "$T/$c" --seed 3 >/dev/null
  "$BAIMO" model info --model "$T/$c" | grep -q "weights      ok" || fail "$c: model info"
done
# Same seed, same bytes; another seed, other bytes.
"$BAIMO" init --config "$ROOT/configs/tiny.json" --out "$T/tiny2" --seed 3 >/dev/null
cmp -s "$T/tiny/model.safetensors" "$T/tiny2/model.safetensors" || fail "init is not deterministic"
"$BAIMO" init --config "$ROOT/configs/tiny.json" --out "$T/tiny3" --seed 4 >/dev/null
! cmp -s "$T/tiny/model.safetensors" "$T/tiny3/model.safetensors" || fail "seed has no effect"

# vocab_size from a tokenizer.json: max id over model.vocab and added_tokens, plus one.
cat >"$T/tokenizer.json" <<'JSON'
{"version": "1.0", "added_tokens": [{"id": 1499, "content": "<|endoftext|>", "special": true}],
 "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 700}, "merges": ["a b"]}}
JSON
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tokenizer.json" --out "$T/tok" --dtype bf16 >/dev/null
grep -q '"vocab_size": 1500' "$T/tok/config.json" || fail "vocab_size not taken from the tokenizer"
grep -q '"eos_token_id": 1499' "$T/tok/config.json" || fail "eos not taken from the tokenizer"
grep -q '"bos_token_id"' "$T/tok/config.json" && fail "bos kept although the tokenizer has none"
grep -q '"torch_dtype": "bfloat16"' "$T/tok/config.json" || fail "bf16 not recorded"
cmp -s "$T/tokenizer.json" "$T/tok/tokenizer.json" || fail "tokenizer not copied"
"$BAIMO" model info --model "$T/tok" | grep -q "vocab        1500" || fail "model info vocab"

expect_error() {  # expect_error NEEDLE CMD...
  local needle=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] || fail "expected exit 1 from: $* (got $rc: $out)"
  grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' in: $out"
}
echo '{"model_type": "llama", "vocab_size": 10, "hidden_size": 30, "intermediate_size": 8,
  "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 8}' >"$T/bad.json"
expect_error "bad.json: field \"num_attention_heads\" = 4 must divide hidden_size = 30" \
  "$BAIMO" init --config "$T/bad.json" --out "$T/x"
echo '{"model_type": "llama", "hidden_sise": 32}' >"$T/bad2.json"
expect_error "missing required field" "$BAIMO" init --config "$T/bad2.json" --out "$T/x"
expect_error "already holds a model" "$BAIMO" init --config "$ROOT/configs/tiny.json" --out "$T/tiny"
head -c 100 "$T/tiny/model.safetensors" >"$T/tiny2/model.safetensors"
expect_error "model.safetensors" "$BAIMO" model info --model "$T/tiny2"
[ ! -e "$T/x" ] || [ ! -e "$T/x/model.safetensors" ] || fail "a failed init left a model behind"
echo "init/model info: ok"
