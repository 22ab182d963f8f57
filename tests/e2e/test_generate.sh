#!/usr/bin/env bash
# baimo generate / chat / eval perplexity end to end on a tiny model trained for a few seconds by
# `baimo demo` (tokenizer included): same seed => same text, stop strings cut the output, per-token
# logprobs, chat through a pipe (multi-line input, /system, /reset, /exit, Ctrl-C while waiting),
# perplexity = exp(the trainer's own loss) on the same tokens, a random model's perplexity ~ its
# vocabulary size, and clear errors. Usage: bash test_generate.sh path/to/baimo
set -euo pipefail
export LC_ALL=C
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
CHAT_PID=
cleanup() { [ -n "$CHAT_PID" ] && kill "$CHAT_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BAIMO" demo --seconds 3 --input "$ROOT/docs/guide.md" --vocab-size 512 --sample-tokens 4 --out "$T/run" \
  >"$T/demo.txt" 2>&1 || { cat "$T/demo.txt"; fail "demo"; }
M=$T/run/model

# The special tokens (end of text, end of turn) banned: this briefly trained model's sampled
# text then never ends at its first token (the demo trains for 3 seconds: how far it gets varies).
no_specials=$(/usr/bin/python3 -c 'import json, sys
print(" ".join("%d=-100" % t["id"] for t in json.load(open(sys.argv[1]))["added_tokens"]))' "$M/tokenizer.json")

# Same seed, same text; another seed, other text.
gen() { "$BAIMO" generate --model "$M" --prompt "A language model" --quiet "$@"; }
a=$(gen --max-tokens 40 --temperature 1 --seed 7 --logit-bias $no_specials)
b=$(gen --max-tokens 40 --temperature 1 --seed 7 --logit-bias $no_specials)
c=$(gen --max-tokens 40 --temperature 1 --seed 8 --logit-bias $no_specials)
[ -n "$a" ] || fail "no text generated"
[ "$a" == "$b" ] || fail "same seed gave different text"
[ "$a" != "$c" ] || fail "another seed gave the same text"

# A stop string cuts the greedy text right before its first occurrence and is never printed.
g=$(gen --max-tokens 30 --temperature 0 --ignore-eos)
s=${g:12:3}
[ ${#s} -eq 3 ] || fail "greedy text too short: '$g'"
h=$(gen --max-tokens 30 --temperature 0 --ignore-eos --stop="$s")
want=$(printf '%s' "${g%%"$s"*}")
[ "$h" == "$want" ] || fail "stop '$s': got '$h', want '$want'"

# --logit-bias makes a token certain.
e_id=$(printf 'e' | "$BAIMO" tokenizer encode --tokenizer "$M")
[ "$(gen --max-tokens 3 --temperature 0 --ignore-eos --logit-bias "$e_id=100")" == "eee" ] || fail "logit bias"

# --logprobs K: one stderr line per token with K alternatives.
gen --max-tokens 5 --ignore-eos --seed 1 --logprobs 3 2>"$T/lp.txt" >/dev/null
[ "$(grep -c '^logprob' "$T/lp.txt")" -eq 5 ] || fail "logprob lines: $(cat "$T/lp.txt")"
[ "$(grep '^logprob' "$T/lp.txt" | head -1 | grep -o ' | ' | wc -l)" -eq 3 ] || fail "alternatives: $(cat "$T/lp.txt")"

# Chat through a pipe: a continued line, /system, /reset, /exit (what follows is never read).
# Every answer runs to the token limit (no specials): how many answers there were is then read
# from stderr.
chat_input=$'Hello\\\nsecond line\n/system Answer briefly.\nWhat is a model?\n/reset\nAgain\n/exit\n/system never\n'
chat() { printf '%s' "$chat_input" | "$BAIMO" chat --model "$M" --max-tokens 6 --seed 3 --logit-bias $no_specials; }
chat >"$T/chat1.txt" 2>"$T/chat1.err" || { cat "$T/chat1.err"; fail "chat exited non-zero"; }
chat >"$T/chat2.txt" 2>/dev/null
grep -q "system message set" "$T/chat1.err" || fail "/system not handled: $(cat "$T/chat1.err")"
grep -q "conversation reset" "$T/chat1.err" || fail "/reset not handled"
[ "$(grep -c 'system message' "$T/chat1.err")" -eq 1 ] || fail "input after /exit was read"
[ "$(grep -c 'answer cut' "$T/chat1.err")" -eq 3 ] || fail "expected 3 answers: $(cat "$T/chat1.err")"
cmp -s "$T/chat1.txt" "$T/chat2.txt" || fail "chat with the same seed differs"
[ -s "$T/chat1.txt" ] || fail "chat printed nothing"

# Ctrl-C (SIGINT) does not end the chat; /exit does.
mkfifo "$T/in"
"$BAIMO" chat --model "$M" --max-tokens 4 --seed 1 <"$T/in" >"$T/chat3.txt" 2>&1 &
CHAT_PID=$!
exec 3>"$T/in"
echo "hi" >&3
sleep 1
kill -INT "$CHAT_PID"
sleep 0.3
kill -0 "$CHAT_PID" 2>/dev/null || fail "SIGINT ended the chat"
echo "/exit" >&3
exec 3>&-
wait "$CHAT_PID" || fail "chat exit status after SIGINT: $?"
CHAT_PID=

# Perplexity = exp(the training loss) on the same 64 predictions: the trainer's forward vs the engine.
"$BAIMO" tokenizer encode --tokenizer "$M" --json <"$ROOT/docs/guide.md" >"$T/ids.json"
/usr/bin/python3 - "$T/ids.json" "$T/batch.safetensors" <<'PY'
import json, struct, sys
ids = json.load(open(sys.argv[1]))[:65]
n = len(ids) - 1
inp, tgt = struct.pack('<%dq' % n, *ids[:n]), struct.pack('<%dq' % n, *ids[1:])
meta = {"input_ids": {"dtype": "I64", "shape": [1, n], "data_offsets": [0, len(inp)]},
        "targets": {"dtype": "I64", "shape": [1, n], "data_offsets": [len(inp), len(inp) + len(tgt)]}}
hdr = json.dumps(meta).encode()
hdr += b' ' * (-len(hdr) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hdr)) + hdr + inp + tgt)
PY
loss=$("$BAIMO" train-step --model "$M" --batch "$T/batch.safetensors" --steps 1 | awk '$1 == "step" {print $4}')
"$BAIMO" eval perplexity --model "$M" --input "$ROOT/docs/guide.md" --ctx 65 --stride 65 --limit 65 >"$T/ppl.txt"
nll=$(awk '$1 == "nll" {print $2}' "$T/ppl.txt")
grep -q "^scored     64$" "$T/ppl.txt" || fail "scored tokens: $(cat "$T/ppl.txt")"
echo "train-step loss $loss, eval nll $nll"
awk -v a="$loss" -v b="$nll" 'BEGIN { d = a - b; exit !(d < 1e-3 && d > -1e-3) }' \
  || fail "eval nll $nll != training loss $loss"
# Whole file, overlapping windows; quantized weights stay close.
p32=$("$BAIMO" eval perplexity --model "$M" --input "$ROOT/docs/guide.md" --ctx 64 --stride 32 | awk '$1 == "perplexity" {print $2}')
p8=$("$BAIMO" eval perplexity --model "$M" --input "$ROOT/docs/guide.md" --ctx 64 --stride 32 --dtype q8_0 | awk '$1 == "perplexity" {print $2}')
echo "perplexity f32 $p32, q8_0 $p8"
awk -v a="$p32" -v b="$p8" 'BEGIN { r = b / a; exit !(a > 1 && a < 1024 && r > 0.99 && r < 1.01) }' \
  || fail "perplexity f32 $p32 vs q8_0 $p8"
# An untrained model predicts about uniformly: perplexity ~ vocabulary size.
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$M/tokenizer.json" --out "$T/rand" --seed 1 >/dev/null
pr=$("$BAIMO" eval perplexity --model "$T/rand" --input "$ROOT/docs/guide.md" --ctx 64 --limit 300 | awk '$1 == "perplexity" {print $2}')
V=$(grep -o '"vocab_size": [0-9]*' "$T/rand/config.json" | awk '{print $2}')
echo "random model perplexity $pr, vocab $V"
awk -v p="$pr" -v v="$V" 'BEGIN { r = log(p) / log(v); exit !(r > 0.97 && r < 1.03) }' \
  || fail "random model perplexity $pr, vocab $V"

# BOS auto-prepend: a copy of the model whose tokenizer_config.json says add_bos_token (with
# <|endoftext|> as its BOS) gets the BOS in front of every prompt, exactly once; so does its GGUF
# (tokenizer.ggml.add_bos_token) and the model directory converted back from that GGUF.
cp -r "$M" "$T/bos"
/usr/bin/python3 - "$T/bos/tokenizer_config.json" <<'PY'
import json, os, sys
p = sys.argv[1]
c = json.load(open(p)) if os.path.exists(p) else {}
c.update({"bos_token": "<|endoftext|>", "add_bos_token": True})
json.dump(c, open(p, "w"))
PY
prompt_count() {  # prompt_count MODEL PROMPT: the prompt tokens generate reports
  "$BAIMO" generate --model "$1" --prompt "$2" --max-tokens 1 2>&1 >/dev/null | sed -n 's/^\[prompt \([0-9]*\) tokens.*/\1/p'
}
n_text=$(printf 'A language model' | "$BAIMO" tokenizer encode --tokenizer "$M" | wc -w)
[ "$(prompt_count "$M" "A language model")" -eq "$n_text" ] || fail "a model without add_bos_token got extra prompt tokens"
[ "$(prompt_count "$T/bos" "A language model")" -eq $((n_text + 1)) ] || fail "add_bos_token: no BOS in the prompt"
[ "$(prompt_count "$T/bos" "<|endoftext|>A language model")" -eq $((n_text + 1)) ] || fail "add_bos_token: BOS doubled"
convert() { "$BAIMO" convert "$@" >"$T/convert.log" 2>&1 || { cat "$T/convert.log"; fail "convert $*"; }; }
convert "$T/bos" "$T/bos.gguf"
convert "$M" "$T/plain.gguf"
convert "$T/bos.gguf" "$T/bos_back"
[ "$(prompt_count "$T/bos.gguf" "A language model")" -eq $((n_text + 1)) ] || fail "GGUF lost add_bos_token"
[ "$(prompt_count "$T/plain.gguf" "A language model")" -eq "$n_text" ] || fail "GGUF of a plain model adds a BOS"
[ "$(prompt_count "$T/bos_back" "A language model")" -eq $((n_text + 1)) ] || fail "GGUF -> directory lost add_bos_token"
grep -q '"add_bos_token": true' "$T/bos_back/tokenizer_config.json" || fail "no add_bos_token in the converted tokenizer_config.json"
# eval perplexity: the document starts with the BOS (one more token, never scored twice).
head -c 600 "$ROOT/docs/guide.md" >"$T/small.txt"
t_plain=$("$BAIMO" eval perplexity --model "$M" --input "$T/small.txt" --ctx 64 | awk '$1 == "tokens" {print $2}')
t_bos=$("$BAIMO" eval perplexity --model "$T/bos" --input "$T/small.txt" --ctx 64 | awk '$1 == "tokens" {print $2}')
[ "$t_bos" -eq $((t_plain + 1)) ] || fail "eval tokens: plain $t_plain, add_bos $t_bos"
# chat: the prompt count is not printed, but the answer must still come (BOS + chat template).
printf 'Hello\n/exit\n' | "$BAIMO" chat --model "$T/bos" --max-tokens 4 --seed 1 >"$T/chat_bos.txt" 2>&1 \
  || { cat "$T/chat_bos.txt"; fail "chat with an add_bos model"; }

# Bad input: exit 1 with a message naming the problem.
expect_error() {  # expect_error NEEDLE CMD...
  local needle=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] || fail "expected exit 1 from: $* (got $rc: $out)"
  grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' in: $out"
}
expect_error "$T/nope" "$BAIMO" generate --model "$T/nope" --prompt x
expect_error "unknown chat template" "$BAIMO" generate --model "$M" --prompt x --chat-template jinja
expect_error "the context holds 4" "$BAIMO" generate --model "$M" --prompt "A language model is here" --ctx 4
expect_error "exceeds the model's max_position_embeddings" "$BAIMO" eval perplexity --model "$M" --input "$ROOT/docs/guide.md" --ctx 100000
expect_error "top_p" "$BAIMO" generate --model "$M" --prompt x --top-p 0
expect_error "expected ID=BIAS" "$BAIMO" generate --model "$M" --prompt x --logit-bias 5
expect_error "outside the vocabulary" "$BAIMO" generate --model "$M" --prompt x --logit-bias 100000=1
echo "generate/chat/eval e2e ok"
