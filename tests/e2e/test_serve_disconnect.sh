#!/usr/bin/env bash
# baimo serve: non-streaming clients that hang up mid-generation free their slot within a second
# and are counted (serve_js/disconnect_test.mjs, plain node http, no npm packages). The model is
# random, 12M parameters (48 MB of f32 weights read per token: no machine makes 4000 tokens in
# the half second before a hang-up) with a 4096-token context, and its
# tokenizer_config.json says add_bos_token, so the test also checks that the server puts the BOS
# in front of a text prompt. Usage: bash test_serve_disconnect.sh path/to/baimo
set -euo pipefail
export LC_ALL=C
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

"$BAIMO" demo --seconds 1 --input "$ROOT/docs/guide.md" --vocab-size 512 --sample-tokens 1 --out "$T/run" \
  >"$T/demo.txt" 2>&1 || { cat "$T/demo.txt"; fail "demo"; }
/usr/bin/python3 - "$ROOT/configs/tiny.json" "$T/long.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update({"hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 4, "num_attention_heads": 8,
          "num_key_value_heads": 4, "max_position_embeddings": 4096})
json.dump(c, open(sys.argv[2], "w"))
PY
M=$T/model
"$BAIMO" init --config "$T/long.json" --tokenizer "$T/run/model/tokenizer.json" --out "$M" --seed 3 >/dev/null
echo '{"bos_token": "<|endoftext|>", "add_bos_token": true}' >"$M/tokenizer_config.json"
banned=$(/usr/bin/python3 -c 'import json, sys
print(",".join(str(t["id"]) for t in json.load(open(sys.argv[1]))["added_tokens"]))' "$M/tokenizer.json")
n_text=$(printf 'A language model' | "$BAIMO" tokenizer encode --tokenizer "$M" | wc -w)

start_server --model "$M" --model-name slow --parallel 1 --ctx 4096
node "$JS_DIR/disconnect_test.mjs" "$BASE" slow "$banned" $((n_text + 1)) \
  || { tail -20 "$T/server.log"; fail "disconnect tests"; }
stop_server
echo "serve disconnect e2e ok"
