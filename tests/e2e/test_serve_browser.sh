#!/usr/bin/env bash
# The web chat page served by baimo serve, in Debian's Chromium driven by playwright-core
# (serve_js/browser_test.mjs): streamed answer, Stop, New chat, Chinese UI, Markdown escaping.
# The model is configs/small.json with random weights (a seed whose greedy answer does not end by itself),
# the demo's tokenizer and a 16384-token
# context; greedy decoding (temperature 0 in the page's settings) runs to the 16000-token limit,
# many seconds even on a quiet machine, so the answer is surely still streaming when Stop is pressed
# (a 900-token answer took one second and could end between the test's check and its click on a
# loaded machine). Screenshot kept in <build>/artifacts/serve_chat.png. Usage: bash test_serve_browser.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "Chromium not installed (scripts/setup.sh installs the chromium package)"

ensure_node_modules
make_model "$T/run"
sed 's/"max_position_embeddings": 1024/"max_position_embeddings": 16384/' "$ROOT/configs/small.json" > "$T/long.json"
grep -q '"max_position_embeddings": 16384' "$T/long.json" || fail "configs/small.json changed: set its context in this test"
ARTIFACTS=$(dirname "$BAIMO")/artifacts
mkdir -p "$ARTIFACTS"
# A random model may still end its greedy answer early by drawing the end-of-turn token (seed 1 did after
# 87 tokens once the guides the demo's tokenizer learns from changed): take the first seed whose greedy
# answer to the page's first message runs to 1,500 tokens.
long_answer() {
  curl -sf "$BASE/v1/chat/completions" -H 'Content-Type: application/json' -H 'Authorization: Bearer browser-key' \
    -d '{"model": "small", "max_tokens": 1500, "temperature": 0, "messages": [{"role": "system", "content":
        "You are a helpful assistant."}, {"role": "user", "content": "你好! Tell me a long story."}]}' |
    /usr/bin/python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["choices"][0]["finish_reason"] != "length")'
}
for seed in 1 2 3 4 5 6; do
  rm -rf "$T/small"
  "$BAIMO" init --config "$T/long.json" --tokenizer "$T/run/tokenizer.json" --out "$T/small" --seed $seed >/dev/null
  start_server --model "$T/small" --parallel 2 --api-key browser-key
  long_answer && break
  stop_server
  [ "$seed" != 6 ] || fail "no seed in 1..6 gives a greedy answer that runs to 1,500 tokens"
done
node "$JS_DIR/browser_test.mjs" "$BASE" browser-key "$ARTIFACTS/serve_chat.png" || { tail -20 "$T/server.log"; fail "browser test"; }
[ -s "$ARTIFACTS/serve_chat.png" ] || fail "no screenshot"
stop_server
echo "serve browser e2e ok"
