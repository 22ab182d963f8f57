#!/usr/bin/env bash
# baimo serve's HTTP edges and client habits (issue 11 items 6 and 11; serve_js/http_edge_test.mjs):
# duplicate / negative Content-Length, header caps, 405, the Authorization scheme's case, fields
# the official openai client sends, and log-probs for special tokens. Loopback only.
# Usage: bash test_serve_http.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

ensure_node_modules
make_model "$T/run"
special=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["added_tokens"][0]["id"])' "$T/run/model/tokenizer.json")
start_server --model "$T/run/model" --model-name tiny --parallel 2 --api-key sk-edge --max-body 65536
node "$JS_DIR/http_edge_test.mjs" "$BASE" sk-edge tiny "$special" || { tail -20 "$T/server.log"; fail "http edge tests"; }
stop_server
echo "serve http e2e ok"
