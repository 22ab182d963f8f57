#!/usr/bin/env bash
# Structured output end to end: `baimo serve` with response_format json_schema / json_object and with
# tools (tool_choice required / named, streamed calls, a round trip), driven by the official openai npm
# client and checked with ajv (serve_js/structured_test.mjs, tools_test.mjs), on a tiny model of random
# weights (only the constraint makes its answers valid JSON).
# Also `baimo generate --json-schema` / `--grammar` and their errors. Usage: bash test_structured_output.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/serve_js/serve_helpers.sh"

ensure_node_modules
make_model "$T/run"
# The served model: random weights from a fixed seed (the same answers on every run, unlike the demo's
# two seconds of training) with 2048 positions: room for the tools block (~400 tokens of this tiny
# vocabulary) and a random model's longest valid answer (JSON may put up to 20 spaces between tokens).
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["max_position_embeddings"]=2048; json.dump(c,open(sys.argv[2],"w"))' \
  "$(dirname "$0")/../../configs/tiny.json" "$T/tiny2048.json"
"$BAIMO" init --config "$T/tiny2048.json" --tokenizer "$T/run/model/tokenizer.json" \
  --out "$T/random" --seed 1 >/dev/null || fail "init"
start_server --model "$T/random" --model-name tiny --parallel 4
node "$JS_DIR/structured_test.mjs" "$BASE" tiny || { tail -20 "$T/server.log"; fail "structured output client tests"; }
node "$JS_DIR/tools_test.mjs" "$BASE" tiny || { tail -20 "$T/server.log"; fail "tool calling client tests"; }
stop_server

# The same model with its own Jinja chat template (Llama-3.1's, from ../shared): serve executes it, and
# its calls take Llama's JSON form ({"name": ..., "parameters": ...}).
LLAMA_TEMPLATE=${BAIMO_SHARED:-$(dirname "$0")/../../../shared}/vectors/templates/meta-llama-Llama-3.1-8B-Instruct.jinja
if [ -f "$LLAMA_TEMPLATE" ]; then
  cp -r "$T/random" "$T/own"
  python3 -c 'import json,sys; json.dump({"chat_template": open(sys.argv[1]).read()}, open(sys.argv[2], "w"))' \
    "$LLAMA_TEMPLATE" "$T/own/tokenizer_config.json"
  start_server --model "$T/own" --model-name tiny --parallel 4
  grep -q "chat template the model's own" "$T/server.log" || fail "the model's own template is not used: $(head -1 "$T/server.log")"
  node "$JS_DIR/tools_test.mjs" "$BASE" tiny calls-only || { tail -20 "$T/server.log"; fail "tool calls through the model's template"; }
  stop_server
else
  echo "skip: no $LLAMA_TEMPLATE (../shared absent)"
fi

# baimo generate --json-schema / --grammar: the printed answer is valid; bad files are clear errors.
cat >"$T/schema.json" <<'JSON'
{"type":"object","properties":{"id":{"type":"integer"},"ok":{"type":"boolean"},"tag":{"enum":["a","b"]}},"required":["id","ok","tag"]}
JSON
out=$("$BAIMO" generate --model "$T/random" --prompt "JSON:" --json-schema "$T/schema.json" --max-tokens 100 --seed 4 2>"$T/gen.err") \
  || { cat "$T/gen.err"; fail "generate --json-schema"; }
python3 -c 'import json,sys; v=json.loads(sys.argv[1]); assert set(v)=={"id","ok","tag"} and isinstance(v["ok"],bool), v' "$out" \
  || fail "generate --json-schema printed '$out'"
printf 'root ::= "yes" | "no" | [0-9]{3}\n' >"$T/g.gbnf"
out=$("$BAIMO" generate --model "$T/random" --prompt "Q:" --grammar "$T/g.gbnf" --max-tokens 20 --seed 2 2>"$T/gen.err") \
  || { cat "$T/gen.err"; fail "generate --grammar"; }
[[ "$out" =~ ^(yes|no|[0-9]{3})$ ]] || fail "generate --grammar printed '$out'"
echo '{"type":"string","format":"email"}' >"$T/bad.json"
err=$("$BAIMO" generate --model "$T/random" --prompt x --json-schema "$T/bad.json" 2>&1) && fail "unsupported schema accepted"
grep -q "bad.json.*format" <<<"$err" || fail "unclear schema error: $err"
printf 'root ::= "a"\nx ::= [a-\n' >"$T/bad.gbnf"
err=$("$BAIMO" generate --model "$T/random" --prompt x --grammar "$T/bad.gbnf" 2>&1) && fail "bad grammar accepted"
grep -q "bad.gbnf:2:" <<<"$err" || fail "grammar error without line:column: $err"
echo "structured output e2e ok"
