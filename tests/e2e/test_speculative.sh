#!/usr/bin/env bash
# Speculative decoding in `baimo generate` and `baimo chat` end to end on random models that share a
# trained tokenizer: greedy text with --draft-ngram, --draft-model (a smaller model, the target
# itself, the target converted to q8_0 at load) equals plain greedy text; the statistics line shows
# the acceptance and tokens per target pass (100% for the target as its own draft); `baimo serve
# --draft-ngram` and `--draft-model` (three requests at once on two slots) answer greedy completions
# with the plain text and count drafts in /metrics; clear
# errors for a draft with another vocabulary, --draft-k out of range, both kinds of draft at once.
# Usage: bash test_speculative.sh path/to/baimo
set -euo pipefail
export LC_ALL=C
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$ROOT/tests/e2e/serve_js/serve_helpers.sh"

"$BAIMO" tokenizer train --input "$ROOT/docs/guide.md" --vocab-size 400 --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer"
"$BAIMO" tokenizer train --input "$ROOT/docs/guide.md" --vocab-size 300 --out "$T/tok300.json" >/dev/null 2>&1 || fail "tokenizer 300"
# Larger init than the default: a random model far from uniform (no near-ties in its greedy choices).
sed 's/"initializer_range": 0.02/"initializer_range": 0.2/' "$ROOT/configs/tiny.json" >"$T/target.json"
sed -e 's/"num_hidden_layers": 4/"num_hidden_layers": 1/' -e 's/"hidden_size": 128/"hidden_size": 64/' "$T/target.json" >"$T/draft.json"
"$BAIMO" init --config "$T/target.json" --tokenizer "$T/tok.json" --out "$T/target" --seed 1 >/dev/null
"$BAIMO" init --config "$T/draft.json" --tokenizer "$T/tok.json" --out "$T/draft" --seed 2 >/dev/null
"$BAIMO" init --config "$T/draft.json" --tokenizer "$T/tok300.json" --out "$T/other" --seed 2 >/dev/null

gen() { "$BAIMO" generate --model "$T/target" --max-tokens 48 --temperature 0 --ignore-eos --threads 1 "$@"; }
for prompt in "A model" "the the the model of the" "speculative decoding verifies"; do
  gen --prompt "$prompt" >"$T/plain.txt" 2>/dev/null
  [ -s "$T/plain.txt" ] || fail "plain: no text"
  i=0
  for draft in "--draft-ngram 3" "--draft-ngram 1 --draft-k 15 --draft-fixed-k" "--draft-model $T/draft" \
               "--draft-model $T/target --draft-k 3" "--draft-model $T/target --draft-dtype q8_0"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    gen --prompt "$prompt" $draft >"$T/spec$i.txt" 2>"$T/spec$i.err" || { cat "$T/spec$i.err"; fail "$draft"; }
    cmp -s "$T/plain.txt" "$T/spec$i.txt" || fail "'$prompt' with $draft: $(cat "$T/spec$i.txt") vs $(cat "$T/plain.txt")"
    grep -q "speculative: .* drafts accepted .* tokens per target pass" "$T/spec$i.err" || fail "stats: $(cat "$T/spec$i.err")"
  done
  grep -q "(100.0%)" "$T/spec4.err" || fail "target as its own draft: $(cat "$T/spec4.err")"
done

# chat through a pipe, greedy: the same answers with an n-gram draft and with a draft model.
chat() { printf 'Hello there\nAnd again\n' | "$BAIMO" chat --model "$T/target" --max-tokens 12 --temperature 0 --threads 1 "$@" 2>/dev/null; }
chat >"$T/chat.txt"
chat --draft-ngram 2 >"$T/chat_ngram.txt"
chat --draft-model "$T/draft" >"$T/chat_model.txt"
[ -s "$T/chat.txt" ] || fail "chat printed nothing"
cmp -s "$T/chat.txt" "$T/chat_ngram.txt" || fail "chat with --draft-ngram differs"
cmp -s "$T/chat.txt" "$T/chat_model.txt" || fail "chat with --draft-model differs"

# serve: n-gram drafts per slot; greedy completions equal those of a server without drafts (the
# same JSON path: a random model's text holds invalid UTF-8 that JSON replaces).
complete() {  # complete PROMPT: the completion's text
  local body
  body=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"model": "target", "prompt": sys.argv[1], "max_tokens": 64, "temperature": 0}))' "$1")
  curl -sf "$BASE/v1/completions" -H 'Content-Type: application/json' -d "$body" \
    | /usr/bin/python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["choices"][0]["text"])' \
    || { tail -5 "$T/server.log"; fail "serve completion"; }
}
prompts=("A model" "the the the model of the" "a b a b a b a b")
start_server --model "$T/target" --parallel 2 --threads 1
for i in 0 1 2; do complete "${prompts[$i]}" >"$T/serve_plain$i.txt"; done
stop_server
start_server --model "$T/target" --draft-ngram 3 --parallel 2 --threads 1
for i in 0 1 2; do complete "${prompts[$i]}" >"$T/serve_spec$i.txt"; done
for i in 0 1 2; do
  cmp -s "$T/serve_plain$i.txt" "$T/serve_spec$i.txt" || fail "serve --draft-ngram '${prompts[$i]}' differs"
done
metrics=$(curl -sf "$BASE/metrics")
grep -q "^baimo_draft_tokens_total [1-9]" <<<"$metrics" || fail "no drafts in /metrics: $metrics"
grep -q "^baimo_tokens_per_target_pass [1-9]" <<<"$metrics" || fail "no tokens per pass in /metrics: $metrics"
stop_server
# serve --draft-model: every slot drafts with the model (its steps batched over the slots); three
# requests at once on two slots (continuous batching mixes drafting and prefilling slots).
for draft in "--draft-model $T/draft" "--draft-model $T/target --draft-dtype q8_0 --draft-k 4"; do
  # shellcheck disable=SC2086
  start_server --model "$T/target" $draft --parallel 2 --threads 1
  pids=()
  for i in 0 1 2; do
    complete "${prompts[$i]}" >"$T/serve_model$i.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for i in 0 1 2; do
    cmp -s "$T/serve_plain$i.txt" "$T/serve_model$i.txt" || fail "serve $draft '${prompts[$i]}' differs"
  done
  metrics=$(curl -sf "$BASE/metrics")
  grep -q "^baimo_draft_tokens_total [1-9]" <<<"$metrics" || fail "$draft: no drafts in /metrics: $metrics"
  stop_server
done
grep -q "^baimo_draft_accepted_tokens_total [1-9]" <<<"$metrics" || fail "q8_0 self-draft: none accepted: $metrics"

expect_error() {  # expect_error NEEDLE CMD...
  local needle=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "expected an error from: $*"
  grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' in: $out"
}
expect_error "draft model $T/other has a vocabulary of 300 tokens, the target $T/target has 400" \
  gen --prompt hi --draft-model "$T/other"
expect_error "--draft-k must be between 1 and 15 tokens per step, got 0" gen --prompt hi --draft-ngram 2 --draft-k 0
expect_error "got 16" gen --prompt hi --draft-model "$T/draft" --draft-k 16
expect_error "--draft-model and --draft-ngram are two kinds of draft: give one of them" \
  gen --prompt hi --draft-model "$T/draft" --draft-ngram 2
expect_error "--draft-ngram must be at least 1" gen --prompt hi --draft-ngram 0
expect_error "--draft-k needs --draft-model or --draft-ngram" gen --prompt hi --draft-k 4
expect_error "draft model $T/other has a vocabulary of 300 tokens" "$BAIMO" serve --model "$T/target" --draft-model "$T/other"
expect_error "--draft-ngram must be at least 1" "$BAIMO" serve --model "$T/target" --draft-ngram 0
expect_error "--draft-k needs --draft-model or --draft-ngram" \
  bash -c "printf 'hi\n' | '$BAIMO' chat --model '$T/target' --draft-k 4"
expect_error "--draft-k needs --draft-model or --draft-ngram" "$BAIMO" serve --model "$T/target" --port 0 --draft-k 3
expect_error "--draft-model and --draft-ngram are two kinds of draft" \
  "$BAIMO" serve --model "$T/target" --port 0 --draft-model "$T/draft" --draft-ngram 2
echo "test_speculative: ok"
