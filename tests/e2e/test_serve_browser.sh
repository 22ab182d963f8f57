#!/usr/bin/env bash
# The web chat page served by baimo serve, in Debian's Chromium driven by playwright-core
# (serve_js/browser_test.mjs): streamed answer, Stop, New chat, Chinese UI, Markdown escaping.
# The model is configs/small.json with random weights, the demo's tokenizer and a 16384-token
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
"$BAIMO" init --config "$T/long.json" --tokenizer "$T/run/tokenizer.json" --out "$T/small" --seed 1 >/dev/null
ARTIFACTS=$(dirname "$BAIMO")/artifacts
mkdir -p "$ARTIFACTS"
start_server --model "$T/small" --parallel 2 --api-key browser-key
node "$JS_DIR/browser_test.mjs" "$BASE" browser-key "$ARTIFACTS/serve_chat.png" || { tail -20 "$T/server.log"; fail "browser test"; }
[ -s "$ARTIFACTS/serve_chat.png" ] || fail "no screenshot"
stop_server
echo "serve browser e2e ok"
