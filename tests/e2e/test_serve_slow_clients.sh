#!/usr/bin/env bash
# baimo serve under slow clients (issue 11 item 3; serve_js/slow_clients_test.mjs): 250
# connections from 127.0.0.2 that send one header line per second must not keep requests from
# 127.0.0.1 from being answered within a second; beyond --max-client-connections they are refused
# at once (429) and the rest are cut at --header-timeout (408). Loopback only, bounded (the node
# script stops by itself within 60 s), plain node: no npm packages.
# Usage: bash test_serve_slow_clients.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

make_model "$T/run"
# The default thread pool (2 slots, queue 64: 148 threads, at least the cap + 64) and the default
# cap of 128 connections per client address; a 3-second header deadline keeps the test short.
start_server --model "$T/run/model" --model-name tiny --parallel 2 --header-timeout 3
timeout 90 node "$JS_DIR/slow_clients_test.mjs" "$BASE" tiny 250 128 3 || { tail -20 "$T/server.log"; fail "slow clients"; }
curl -sf "$BASE/metrics" | grep -q 'baimo_requests_total{endpoint="connection",code="429"} 122' \
  || fail "refused connections are not counted in /metrics"
stop_server
echo "serve slow clients e2e ok"
