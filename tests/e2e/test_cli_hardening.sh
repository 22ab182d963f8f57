#!/usr/bin/env bash
# Issue 11 (items 9, 10, 12) end to end: invalid numbers are errors, --threads on the compute
# commands, `serve --help` defaults, one rule for output paths (missing parents are created; an
# unwritable path is a clear error naming it), binary corpora refused, `tokenizer train` reads what
# `data prepare` reads (directories, JSON arrays, several --field), a 60M token id refused, NaN
# weights reported by `model info` (which also reads GGUF) and `eval`, logprob lines that never
# interleave with the text, no rate from a single token, piped chat answers kept apart.
# Usage: bash test_cli_hardening.sh path/to/baimo
set -euo pipefail
export LC_ALL=C
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

# expect_fail NEEDLE CMD...: exit 1, NEEDLE in stderr, never "internal error".
expect_fail() {
  local needle=$1; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || fail "exit $rc (expected 1) for: $*"
  grep -qF -- "$needle" "$T/err" || { cat "$T/err"; fail "message for '$*' lacks '$needle'"; }
  if grep -q "internal error" "$T/err"; then cat "$T/err"; fail "internal error for: $*"; fi
}

head -c 60000 "$ROOT/docs/guide.md" >"$T/text.txt"
"$BAIMO" tokenizer train --input "$T/text.txt" --vocab-size 400 --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer train"
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tok.json" --out "$T/m" --seed 1 >/dev/null || fail "init"
# Special tokens and every token with a newline banned: text without line breaks.
ban=$($PY -c 'import json, sys
t = json.load(open(sys.argv[1]))
ids = [a["id"] for a in t["added_tokens"]] + [i for s, i in t["model"]["vocab"].items() if "\u010a" in s or "\u010d" in s]
print(" ".join("%d=-100" % i for i in ids))' "$T/tok.json")

# ---- 11.9: numbers are checked, never replaced by defaults -------------------------------------
expect_fail "--ctx" "$BAIMO" eval perplexity --model "$T/m" --input "$T/text.txt" --ctx 0
expect_fail "--ctx" "$BAIMO" eval perplexity --model "$T/m" --input "$T/text.txt" --ctx -5
expect_fail "--stride" "$BAIMO" eval perplexity --model "$T/m" --input "$T/text.txt" --stride 0
expect_fail "--ctx" "$BAIMO" generate --model "$T/m" --prompt hi --ctx 0
expect_fail "--ctx" "$BAIMO" chat --model "$T/m" --ctx -5 </dev/null
expect_fail "--threads" "$BAIMO" generate --model "$T/m" --prompt hi --threads 0
expect_fail "--threads" "$BAIMO" eval perplexity --model "$T/m" --input "$T/text.txt" --threads -1
expect_fail "--threads" "$BAIMO" serve --model "$T/m" --threads 0
expect_fail "--shard-tokens" "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/text.txt" --out "$T/d0" --shard-tokens 0
expect_fail "--max-tokens" "$BAIMO" generate --model "$T/m" --prompt hi --max-tokens -3
# --threads is taken (and reported).
"$BAIMO" eval perplexity --model "$T/m" --input "$T/text.txt" --ctx 64 --limit 200 --threads 1 >"$T/ppl" \
  || fail "eval --threads 1"
grep -q "1 threads" "$T/ppl" || fail "eval does not report its threads: $(cat "$T/ppl")"
"$BAIMO" generate --model "$T/m" --prompt hi --max-tokens 3 --threads 1 --seed 1 >/dev/null 2>"$T/err" || fail "generate --threads"
grep -q "| 1 threads" "$T/err" || fail "generate does not report its threads: $(cat "$T/err")"
# serve --help shows its defaults and --threads.
"$BAIMO" serve --help >"$T/help"
grep -q "=8080" "$T/help" && grep -q "=127.0.0.1" "$T/help" && grep -q "=64" "$T/help" \
  && grep -q -- "--threads" "$T/help" || { cat "$T/help"; fail "serve --help lacks its defaults"; }

# ---- 11.9: output paths: missing parents are created, unwritable ones named --------------------
"$BAIMO" tokenizer train --input "$T/text.txt" --vocab-size 300 --out "$T/new1/a/tok.json" >/dev/null 2>&1 \
  && [ -f "$T/new1/a/tok.json" ] || fail "tokenizer train into a missing directory"
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tok.json" --out "$T/new2/b/m" >/dev/null \
  && [ -f "$T/new2/b/m/config.json" ] || fail "init into a missing directory"
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/text.txt" --out "$T/new3/c/d" >/dev/null 2>&1 \
  && [ -f "$T/new3/c/d/index.json" ] || fail "data prepare into a missing directory"
"$BAIMO" convert "$T/m" "$T/new4/d/m.gguf" >/dev/null 2>&1 && [ -f "$T/new4/d/m.gguf" ] || fail "convert into a missing directory"
touch "$T/afile"
expect_fail "$T/afile" "$BAIMO" tokenizer train --input "$T/text.txt" --vocab-size 300 --out "$T/afile/x/tok.json"
expect_fail "$T/afile" "$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tok.json" --out "$T/afile/m"
expect_fail "$T/afile" "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/text.txt" --out "$T/afile/d"
expect_fail "$T/afile" "$BAIMO" convert "$T/m" "$T/afile/m.gguf"
expect_fail "$T/afile" "$BAIMO" quantize --model "$T/m" --type q8_0 --out "$T/afile/q.gguf"

# ---- 11.10: inputs -------------------------------------------------------------------------------
head -c 30000 "$BAIMO" >"$T/prog.txt"
expect_fail "prog.txt: looks like a binary file" "$BAIMO" tokenizer train --input "$T/prog.txt" --vocab-size 300 --out "$T/b.json"
expect_fail "prog.txt: looks like a binary file" "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/prog.txt" --out "$T/bd"
[ ! -e "$T/b.json" ] && [ ! -e "$T/bd" ] || fail "output written for a binary corpus"
# tokenizer train reads a directory with a JSON array (field "content") and JSONL (field "text"):
# the JSON's escaped Chinese is text only when parsed, so its merges prove the records were read.
mkdir -p "$T/corpus/sub"
$PY - "$T/corpus" <<'PY'
import json, os, sys
d = sys.argv[1]
json.dump([{"id": i, "content": "你好世界，" * 20} for i in range(60)], open(os.path.join(d, "sub", "zh.json"), "w"), ensure_ascii=True)
with open(os.path.join(d, "en.jsonl"), "w") as f:
    for i in range(60): f.write(json.dumps({"text": "hello world " * 10}) + "\n")
PY
"$BAIMO" tokenizer train --input "$T/corpus" --field text content --vocab-size 300 --out "$T/dir.json" >/dev/null 2>"$T/err" \
  || { cat "$T/err"; fail "tokenizer train on a directory of JSON/JSONL"; }
n=$(echo "你好世界" | "$BAIMO" tokenizer encode --tokenizer "$T/dir.json" --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" -le 4 ] || fail "the JSON array's text was not read as records ($n tokens for 你好世界)"
# A token id of 60,000,000 is refused, not allocated.
$PY - "$T/tok.json" "$T/huge.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["added_tokens"].append({"id": 60000000, "content": "<|huge|>", "special": True})
json.dump(t, open(sys.argv[2], "w"))
PY
expect_fail "id 60000000 is too large" "$BAIMO" tokenizer encode --tokenizer "$T/huge.json" --json </dev/null
# NaN weights: `model info` names the tensor; eval reports it instead of "perplexity -nan".
cp -r "$T/m" "$T/nan"
$PY - "$T/nan/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
t = h["model.layers.0.mlp.down_proj.weight"]
assert t["dtype"] == "F32"
o = 8 + n + t["data_offsets"][0]
b[o:o + 4] = struct.pack("<f", float("nan"))
b[o + 4:o + 8] = struct.pack("<f", float("inf"))
open(p, "wb").write(bytes(b))
PY
expect_fail "model.layers.0.mlp.down_proj.weight (1 NaN, 1 Inf" "$BAIMO" model info --model "$T/nan"
expect_fail "not finite" "$BAIMO" eval perplexity --model "$T/nan" --input "$T/text.txt" --ctx 64 --limit 200
grep -q "nan" "$T/out" && fail "eval printed a NaN perplexity"
"$BAIMO" model info --model "$T/m" | grep -q "every value finite" || fail "model info on a good model"
# model info reads a GGUF.
"$BAIMO" model info --model "$T/new4/d/m.gguf" --tensors >"$T/info" 2>&1 || { cat "$T/info"; fail "model info on a GGUF"; }
grep -q "GGUF" "$T/info" && grep -q "every value finite" "$T/info" && grep -q "model.norm.weight" "$T/info" \
  || { cat "$T/info"; fail "model info GGUF output"; }

# ---- 11.12 -----------------------------------------------------------------------------------------
"$BAIMO" generate --model "$T/m" --prompt hi --max-tokens 1 --ignore-eos --seed 1 >/dev/null 2>"$T/err"
grep -q "generated 1 token |" "$T/err" || fail "one token: $(cat "$T/err")"
grep -q "0.0 tok/s" "$T/err" && fail "a rate from one token: $(cat "$T/err")"
# --logprobs with stdout and stderr in one file: the text first, then one line per token.
"$BAIMO" generate --model "$T/m" --prompt hi --max-tokens 5 --ignore-eos --seed 1 --logprobs 2 --logit-bias $ban \
  >"$T/both" 2>&1 || fail "generate --logprobs"
[ "$(grep -c '^logprob' "$T/both")" -eq 5 ] || { cat "$T/both"; fail "logprob lines mixed into the text"; }
head -1 "$T/both" | grep -q logprob && { cat "$T/both"; fail "logprob lines before the text"; }
# Piped chat: a blank line after every answer.
printf 'one\ntwo\nthree\n' | "$BAIMO" chat --model "$T/m" --max-tokens 4 --seed 2 --logit-bias $ban >"$T/chat" 2>/dev/null \
  || fail "piped chat"
$PY - "$T/chat" <<'PY' || { cat "$T/chat"; fail "piped chat answers run together"; }
import sys
text = open(sys.argv[1], "rb").read()  # a random model's answers: any bytes
answers = [a for a in text.split(b"\n\n") if a.strip()]
assert text.endswith(b"\n\n") and len(answers) == 3, (text, answers)
PY
echo "cli hardening e2e ok"
