#!/usr/bin/env bash
# Reward models end to end (issue 13): `baimo rm init` turns a causal LM (baimo demo's tiny model)
# into a reward model; `baimo rm score` scores chat records; `baimo serve` on the reward model
# answers POST /v1/rewards (one conversation, several) with the same rewards (to 1e-5), lists the
# model, refuses bad requests, wrong endpoints for the model kind and too-long input with OpenAI-style
# 4xx errors, needs the API key, and stops on SIGTERM. Loopback only.
# Usage: bash test_rm_serve.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"
PY=/usr/bin/python3

make_model "$T/run"
LM="$T/run/model"
"$BAIMO" rm init --model "$LM" --out "$T/rm" --seed 5 >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "rm init"; }
grep -q '"Qwen2ForSequenceClassification"\|"LlamaForSequenceClassification"' "$T/rm/config.json" || fail "config.json architectures"

# Chat records (OpenAI JSONL).
cat >"$T/data.jsonl" <<'JSONL'
{"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there, how can I help?"}]}
{"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue"}, {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Green"}]}
JSONL
"$BAIMO" rm score --model "$T/rm" --data "$T/data.jsonl" --batch 2 >"$T/cli.jsonl" 2>"$T/score.log" || { cat "$T/score.log"; fail "rm score"; }
[ "$(wc -l <"$T/cli.jsonl")" -eq 3 ] || fail "rm score wrote $(wc -l <"$T/cli.jsonl") lines"
"$BAIMO" rm score --model "$T/rm" --data "$T/data.jsonl" --out "$T/out/scores.jsonl" --batch 1 2>/dev/null || fail "rm score --out"
$PY - "$T/cli.jsonl" "$T/out/scores.jsonl" <<'PY' || fail "--batch 1 --out differs from --batch 2 stdout"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["record"] for x in a] == [0, 1, 2], a
assert all(abs(x["reward"] - y["reward"]) <= 1e-5 for x, y in zip(a, b)), (a, b)
PY

# Errors of the CLI: a causal LM has no score head; bad data is the reader's error.
if "$BAIMO" rm score --model "$LM" --data "$T/data.jsonl" >/dev/null 2>"$T/err.log"; then fail "rm score on an LM"; fi
grep -q "has no score head (causal LM" "$T/err.log" || { cat "$T/err.log"; fail "rm score on an LM: message"; }
echo '{"messages": [{"role": "user", "content": "x"}]}' >"$T/bad.jsonl"
if "$BAIMO" rm score --model "$T/rm" --data "$T/bad.jsonl" >/dev/null 2>"$T/err.log"; then fail "rm score on bad data"; fi
grep -q "bad.jsonl" "$T/err.log" || { cat "$T/err.log"; fail "bad data: message names the file"; }
if "$BAIMO" generate --model "$T/rm" --prompt hi >/dev/null 2>"$T/err.log"; then fail "generate on a reward model"; fi
grep -q "is a reward model (.*ForSequenceClassification): use baimo rm score or serve /v1/rewards" "$T/err.log" \
  || { cat "$T/err.log"; fail "generate on a reward model: message"; }

start_server --model "$T/rm" --model-name rm-tiny --api-key sk-rm --ctx 64
AUTH=(-H "Authorization: Bearer sk-rm" -H "Content-Type: application/json")
post() { curl -s -o "$T/resp.json" -w '%{http_code}' "${AUTH[@]}" -X POST "$BASE/v1/rewards" --data-binary "$1"; }

# One conversation, then all three: the same rewards as rm score.
$PY - "$T/data.jsonl" "$T/one.json" "$T/all.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
json.dump({"model": "rm-tiny", "messages": recs[1]["messages"]}, open(sys.argv[2], "w"))
json.dump({"input": [r["messages"] for r in recs]}, open(sys.argv[3], "w"))
PY
code=$(post "@$T/one.json"); [ "$code" = 200 ] || { cat "$T/resp.json"; fail "one conversation: $code"; }
cp "$T/resp.json" "$T/http_one.json"
code=$(post "@$T/all.json"); [ "$code" = 200 ] || { cat "$T/resp.json"; fail "several conversations: $code"; }
$PY - "$T/cli.jsonl" "$T/http_one.json" "$T/resp.json" <<'PY' || fail "HTTP rewards differ from rm score"
import json, sys
cli = [json.loads(l)["reward"] for l in open(sys.argv[1])]
one, many = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
for r in (one, many):
    assert r["object"] == "list" and r["model"] == "rm-tiny", r
    assert r["usage"]["prompt_tokens"] > 0, r
    assert all(d["object"] == "reward" for d in r["data"]), r
assert [d["index"] for d in many["data"]] == [0, 1, 2], many
assert abs(one["data"][0]["reward"] - cli[1]) <= 1e-5, (one, cli)
for d in many["data"]:
    assert abs(d["reward"] - cli[d["index"]]) <= 1e-5, (many, cli)
assert many["usage"]["prompt_tokens"] > one["usage"]["prompt_tokens"], (one, many)
PY

# Errors, each an OpenAI-style body.
expect_error() {  # expect_error STATUS CODE_OR_PARAM BODY
  local code
  code=$(post "$3")
  [ "$code" = "$1" ] || { cat "$T/resp.json"; fail "expected $1 for $3, got $code"; }
  grep -q "\"error\"" "$T/resp.json" && grep -q "$2" "$T/resp.json" || { cat "$T/resp.json"; fail "error body for $3"; }
}
expect_error 400 invalid_json '{"messages": '
expect_error 400 missing_required_parameter '{"model": "rm-tiny"}'
expect_error 400 'input\[1\]' '{"input": [[{"role": "user", "content": "a"}], 5]}'
expect_error 400 'role' '{"messages": [{"role": "robot", "content": "a"}]}'
expect_error 400 unknown_parameter '{"messages": [{"role": "user", "content": "a"}], "temperature": 1}'
expect_error 404 model_not_found '{"model": "other", "messages": [{"role": "user", "content": "a"}]}'
long=$($PY -c 'print("word " * 400)')
expect_error 400 context_length_exceeded "{\"messages\": [{\"role\": \"user\", \"content\": \"$long\"}]}"
# The chat endpoints of a reward model name its kind.
code=$(curl -s -o "$T/resp.json" -w '%{http_code}' "${AUTH[@]}" -X POST "$BASE/v1/chat/completions" \
  --data-binary '{"model": "rm-tiny", "messages": [{"role": "user", "content": "hi"}]}')
[ "$code" = 400 ] && grep -q "is a reward model" "$T/resp.json" && grep -q wrong_model_kind "$T/resp.json" \
  || { cat "$T/resp.json"; fail "chat on a reward model: $code"; }
# The key is needed; /v1/models lists the model.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/rewards" --data-binary @"$T/one.json")
[ "$code" = 401 ] || fail "no key: $code"
curl -s "${AUTH[@]}" "$BASE/v1/models" | grep -q '"id":"rm-tiny"' || fail "/v1/models"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health"); [ "$code" = 200 ] || fail "/health: $code"
stop_server

# A chat model's server has no /v1/rewards.
start_server --model "$LM" --model-name chat-tiny --parallel 1
code=$(curl -s -o "$T/resp.json" -w '%{http_code}' -X POST "$BASE/v1/rewards" --data-binary @"$T/one.json")
[ "$code" = 400 ] && grep -q "is a chat model" "$T/resp.json" || { cat "$T/resp.json"; fail "/v1/rewards on a chat model: $code"; }
code=$(curl -s -o "$T/resp.json" -w '%{http_code}' -X POST "$BASE/v1/chat/completions" -H "Content-Type: application/json" \
  --data-binary '{"model": "chat-tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}')
[ "$code" = 200 ] && grep -q chat.completion "$T/resp.json" || { cat "$T/resp.json"; fail "chat on a chat model: $code"; }
stop_server
echo "rm serve e2e ok"
