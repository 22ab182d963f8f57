# Sourced by tests/e2e/test_serve_*.sh: npm clients, a tiny model, and a `baimo serve` on a free
# loopback port. Expects BAIMO (the binary) and T (a temp dir) to be set, and `fail` defined.
JS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The openai and playwright-core packages, installed from the committed lockfile.
ensure_node_modules() {
  # Several serve tests start at once under ctest -j: one installs, the others wait on the lock.
  (
    flock 9
    if [ ! -f "$JS_DIR/node_modules/openai/package.json" ] || [ ! -f "$JS_DIR/node_modules/playwright-core/package.json" ] \
      || [ ! -f "$JS_DIR/node_modules/ajv/package.json" ]; then
      cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1
    fi
  ) 9>"${TMPDIR:-/tmp}/baimo-serve-npm.lock" || fail "npm ci failed in $JS_DIR"
}

# make_model DIR: a model directory with a trained tokenizer (baimo demo, two seconds of training).
make_model() {
  "$BAIMO" demo --seconds 2 --out "$1" --sample-tokens 1 >"$T/demo.log" 2>&1 || { cat "$T/demo.log"; fail "demo failed"; }
}

# start_server ARGS...: starts baimo serve on a free port; sets SERVER_PID and BASE.
start_server() {
  "$BAIMO" serve --port 0 "$@" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 200); do
    BASE=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/server.log" | head -1 || true)
    [ -n "$BASE" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$T/server.log"; fail "server exited at start"; }
    sleep 0.05
  done
  [ -n "$BASE" ] || { cat "$T/server.log"; fail "server did not print its address"; }
}

# stop_server: SIGTERM, then the server must exit 0 within 15 s.
stop_server() {
  kill -TERM "$SERVER_PID"
  local i rc=0
  for i in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SERVER_PID" 2>/dev/null && { kill -KILL "$SERVER_PID"; fail "server did not stop on SIGTERM"; }
  wait "$SERVER_PID" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$T/server.log"; fail "server exited with $rc after SIGTERM"; }
  SERVER_PID=""
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
