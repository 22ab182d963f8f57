#!/usr/bin/env bash
# baimo serve under load (serve_js/load_test.mjs): 64 concurrent streaming clients, 320 requests,
# each bounded in time, each a complete stream equal to its greedy answer alone or a proper 429,
# some clients hanging up mid-stream. Afterwards the server must be healthy, idle (no slot left
# busy, empty queue), its resident memory back near the level it had after warm-up, and it must
# stop cleanly on SIGTERM. Usage: bash test_serve_load.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

ensure_node_modules
make_model "$T/run"
start_server --model "$T/run/model" --model-name tiny --parallel 8 --max-queue 24 --api-key k
# Warm-up (threads, arenas, caches), then the baseline.
node "$JS_DIR/load_test.mjs" "$BASE" k tiny 16 32 >/dev/null || { tail -20 "$T/server.log"; fail "warm-up"; }
sleep 0.5
base_rss=$(rss_kib "$SERVER_PID")
node "$JS_DIR/load_test.mjs" "$BASE" k tiny 64 320 || { tail -20 "$T/server.log"; fail "load test"; }
kill -0 "$SERVER_PID" 2>/dev/null || fail "server died under load"
health=$(curl -sf "$BASE/health") || fail "no /health after the load"
grep -q '"active_slots":0' <<<"$health" || fail "slots still busy after every client finished: $health"
grep -q '"queue_length":0' <<<"$health" || fail "queue not empty: $health"
sleep 0.5
rss=$(rss_kib "$SERVER_PID")
echo "server RSS: $((base_rss / 1024)) MiB after warm-up, $((rss / 1024)) MiB after the load"
# Near the baseline: within 25% + 32 MiB (allocator caches of 100+ HTTP threads).
[ "$rss" -le $((base_rss * 5 / 4 + 32768)) ] || fail "RSS grew from $base_rss KiB to $rss KiB"
metrics=$(curl -sf -H "Authorization: Bearer k" "$BASE/metrics")
grep -q '^baimo_client_disconnects_total [1-9]' <<<"$metrics" || fail "hang-ups not counted as disconnects"
stop_server
echo "serve load e2e ok"
