#!/usr/bin/env bash
# baimo serve end to end with the official `openai` npm client (serve_js/openai_client_test.mjs):
# a tiny model trained for two seconds, the real server on a free loopback port with an API key,
# a small queue (so that a burst gets 429s) and a small body limit (413); then SIGTERM must stop
# it cleanly (exit 0). Also checks that the server binds to 127.0.0.1 by default and that bad
# flags are clear errors. Usage: bash test_serve_openai.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

ensure_node_modules
make_model "$T/run"
start_server --model "$T/run/model" --model-name tiny --parallel 2 --max-queue 2 --api-key sk-test-123 --max-body 65536
grep -q "listening on http://127.0.0.1:" "$T/server.log" || fail "not bound to loopback by default"
node "$JS_DIR/openai_client_test.mjs" "$BASE" sk-test-123 tiny || { tail -20 "$T/server.log"; fail "openai client tests"; }
stop_server
grep -q "stopped" "$T/server.log" || fail "no clean stop message"

out=$("$BAIMO" serve --model "$T/nope" 2>&1) && fail "missing model accepted"
grep -q "nope" <<<"$out" || fail "error does not name the model path: $out"
out=$("$BAIMO" serve --model "$T/run/model" --ctx 100000 2>&1) && fail "--ctx beyond the model accepted"
grep -q "max_position_embeddings" <<<"$out" || fail "unclear --ctx error: $out"
echo "serve openai e2e ok"
