#!/usr/bin/env bash
# baimo tokenizer train end to end: trains on real text (plain and JSONL) from $BAIMO_SHARED/data,
# checks the tokenizer.json (vocabulary size, special tokens at the end), that the result does not
# depend on the thread count, that a trained tokenizer feeds `baimo init`, and that bad input gives
# exit 1 and a message naming the file / line / limit, with nothing written.
# Usage: bash test_tokenizer_train.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

# A mixed Chinese/English text: Shakespeare plus Chinese instructions.
head -c 300000 "$SHARED/data/pretrain/tinyshakespeare.txt" >"$T/mix.txt"
$PY -c "import json,sys; [print(x['instruction'] + '\n' + x['output']) for x in json.load(open(sys.argv[1]))[:300]]" \
  "$SHARED/data/sft/alpaca_zh_demo.json" >>"$T/mix.txt"

"$BAIMO" tokenizer train --input "$T/mix.txt" --vocab-size 2000 --out "$T/a.json" --threads 1 \
  >/dev/null 2>"$T/log" || { cat "$T/log"; fail "train"; }
grep -q "trained 2000 tokens" "$T/log" || { cat "$T/log"; fail "summary"; }
"$BAIMO" tokenizer train --input "$T/mix.txt" --vocab-size 2000 --out "$T/b.json" --threads 2 >/dev/null 2>&1
cmp -s "$T/a.json" "$T/b.json" || fail "1 and 2 threads give different tokenizer.json"
$PY - "$T/a.json" <<'PY' || fail "tokenizer.json content"
import json, sys
t = json.load(open(sys.argv[1]))
v = t["model"]["vocab"]
added = {a["content"]: a["id"] for a in t["added_tokens"]}
assert t["model"]["type"] == "BPE", t["model"]["type"]
assert added == {"<|endoftext|>": 1997, "<|im_start|>": 1998, "<|im_end|>": 1999}, added
assert len(v) == 1997 and max(v.values()) == 1996, (len(v), max(v.values()))
assert len(t["model"]["merges"]) == 1997 - 256
PY

# JSONL with --field, custom special tokens.
$PY -c "import json; [print(json.dumps({'text': l, 'n': i})) for i, l in enumerate(open('$T/mix.txt').read().split('\n\n'))]" >"$T/mix.jsonl"
"$BAIMO" tokenizer train --input "$T/mix.jsonl" --field text --vocab-size 600 --out "$T/j.json" \
  --special-tokens "<s>" "</s>" >/dev/null 2>&1 || fail "jsonl train"
grep -q '"content": *"</s>"' "$T/j.json" || fail "custom special token missing"

# A trained tokenizer sets a model's vocab_size.
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/a.json" --out "$T/model" >/dev/null
grep -q '"vocab_size": 2000' "$T/model/config.json" || fail "init with the trained tokenizer"

# Bad input: exit 1, a message naming the problem, no output file.
expect_error() {  # expect_error NEEDLE ARGS...
  local needle=$1; shift
  set +e
  "$BAIMO" tokenizer train "$@" --out "$T/bad.json" >/dev/null 2>"$T/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || fail "exit $rc for $*"
  grep -qF -- "$needle" "$T/err" || { cat "$T/err"; fail "message for $* lacks '$needle'"; }
  [ ! -e "$T/bad.json" ] || fail "output written for bad input $*"
}
expect_error "$T/nope.txt" --input "$T/nope.txt" --vocab-size 1000
expect_error "at least 256 byte tokens + 3 special tokens = 259" --input "$T/mix.txt" --vocab-size 258
printf '{"text": "ok"}\n{"text": "ok"}\n{"text": broken\n' >"$T/bad.jsonl"
expect_error "bad.jsonl:3: invalid JSON" --input "$T/bad.jsonl" --field text --vocab-size 300
expect_error 'bad.jsonl:1: field "body" is missing' --input "$T/bad.jsonl" --field body --vocab-size 300
expect_error "preset" --input "$T/mix.txt" --vocab-size 300 --preset nosuch
echo "ok"
