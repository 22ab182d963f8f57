#!/usr/bin/env bash
# baimo serve at start-up (issue 11 items 2, 3 and 12): a second server on a port in use fails
# with "Address already in use" instead of sharing it (no SO_REUSEPORT unless --reuse-port), the
# listen backlog is raised beyond cpp-httplib's 5 (ss shows it), and a training run's final/
# directory is served under the run's name. Loopback only; every server is stopped by the trap.
# Usage: bash test_serve_startup.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
SECOND_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; [ -n "$SECOND_PID" ] && kill -KILL "$SECOND_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

make_model "$T/demo"
mkdir -p "$T/tinyrun"
cp -r "$T/demo/model" "$T/tinyrun/final"
start_server --model "$T/tinyrun/final" --parallel 1
PORT=${BASE##*:}

# The model id of runs/<run>/final is <run>.
models=$(curl -sf "$BASE/v1/models") || fail "GET /v1/models"
grep -q '"id":"tinyrun"' <<<"$models" || fail "model id of a run's final/ is not the run's name: $models"

# A second server on the same port must fail, not split the port's connections with the first.
"$BAIMO" serve --model "$T/tinyrun/final" --port "$PORT" --parallel 1 >"$T/second.log" 2>&1 &
SECOND_PID=$!
for _ in $(seq 1 200); do kill -0 "$SECOND_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$SECOND_PID" 2>/dev/null; then cat "$T/second.log"; fail "a second server started on port $PORT"; fi
rc=0
wait "$SECOND_PID" || rc=$?
SECOND_PID=""
[ "$rc" -ne 0 ] || fail "the second server exited 0"
grep -qi "address already in use" "$T/second.log" || { cat "$T/second.log"; fail "no 'address already in use' message"; }
grep -q "$PORT" "$T/second.log" || fail "the error does not name the port"
curl -sf "$BASE/health" >/dev/null || fail "the first server no longer answers"

# Listen backlog: ss shows it as Send-Q of the listening socket (the kernel caps it at somaxconn).
somaxconn=$(cat /proc/sys/net/core/somaxconn)
want=$((somaxconn < 1024 ? somaxconn : 1024))
backlog=$(ss -ltnH "sport = :$PORT" | awk '{print $3}' | head -1)
[ "$backlog" = "$want" ] || fail "listen backlog $backlog, expected $want"

stop_server
echo "serve startup e2e ok"
