#!/usr/bin/env bash
# Every post-training stage on a model directory in the exact layout of a real Qwen2.5 release
# (tests/e2e/qwen25_layout.py: the real tokenizer.json with its NFC normalizer and tokenizer_config.json
# with the published chat template and its tools section, vocab_size 151936 > the tokenizer's 151,665
# tokens, tied embeddings, q/k/v bias, bf16 weights in two shards with an index, generation_config.json;
# tiny random layers), a few steps each:
#   sft --lora on ../shared/data/sft, dpo --lora on ../shared/data/prefs, lora merge (the layout kept:
#   vocab 151936, the tokenizer files), quantize q4_k_m (the NFC warning; the GGUF keeps 151936 rows),
#   eval perplexity (the GGUF within 5% of the merged directory), serve (a chat completion through the
#   model's own Jinja template, with a tool) on the GGUF.
# Each stage's wall time and peak memory go to the log (/usr/bin/time).
# Usage: bash test_qwen25_layout.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
[ -f "$SHARED/vectors/qwen2_5/tokenizer.json" ] || { echo "SKIP: $SHARED/vectors/qwen2_5 not found"; exit 0; }
T=$(mktemp -d)
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$ROOT/tests/e2e/serve_js/serve_helpers.sh"
export OMP_NUM_THREADS=2
stage() {  # stage NAME CMD...: runs it, logs time and memory, fails with its output
  local name=$1
  shift
  /usr/bin/time -f "$name: %e s, %M KB peak" -o "$T/time_$name" "$@" >"$T/$name.log" 2>&1 ||
    { cat "$T/$name.log"; fail "$name"; }
  cat "$T/time_$name"
}

/usr/bin/python3 "$ROOT/tests/e2e/qwen25_layout.py" "$SHARED/vectors" "$T/qwen" >/dev/null || fail "qwen25_layout.py"
"$BAIMO" model info --model "$T/qwen" >"$T/info.log" 2>&1 || { cat "$T/info.log"; fail "model info"; }
grep -q "vocab        151936" "$T/info.log" || { cat "$T/info.log"; fail "vocab"; }

TRAIN=(--batch 2 --max-len 128 --steps 2 --eval-interval 0 --val-fraction 0.01 --threads 2)
stage sft "$BAIMO" sft --model "$T/qwen" --lora --data "$SHARED/data/sft/alpaca_en_demo.json" \
  "$SHARED/data/sft/alpaca_zh_demo.json" --out "$T/sft" "${TRAIN[@]}"
grep -q "template: the model's own\|chatml" "$T/sft.log" || { cat "$T/sft.log"; fail "sft: no template line"; }
[ -f "$T/sft/final/adapter_model.safetensors" ] || fail "sft: no adapter"
stage dpo "$BAIMO" dpo --model "$T/qwen" --lora --data "$SHARED/data/prefs/dpo_en_demo.json" --out "$T/dpo" "${TRAIN[@]}"
[ -f "$T/dpo/final/adapter_model.safetensors" ] || fail "dpo: no adapter"
stage merge "$BAIMO" lora merge --model "$T/qwen" --adapter "$T/sft/final" --out "$T/merged"
grep -q '"vocab_size": 151936' "$T/merged/config.json" || fail "merge lost the padded vocabulary"
cmp -s "$T/qwen/tokenizer_config.json" "$T/merged/tokenizer_config.json" || fail "merge changed tokenizer_config.json"
stage quantize "$BAIMO" quantize --model "$T/merged" --type q4_k_m --out "$T/q.gguf"
grep -q "warning: the tokenizer normalizes text to NFC" "$T/quantize.log" || { cat "$T/quantize.log"; fail "no NFC warning"; }
stage eval_dir "$BAIMO" eval perplexity --model "$T/merged" --input "$ROOT/docs/guide.md" --limit 2048 --ctx 512
stage eval_gguf "$BAIMO" eval perplexity --model "$T/q.gguf" --input "$ROOT/docs/guide.md" --limit 2048 --ctx 512
ppl() { sed -n 's/.*perplexity \([0-9.]*\).*/\1/p' "$T/$1.log" | head -1; }
/usr/bin/python3 -c "import sys; a, b = map(float, sys.argv[1:]); sys.exit(abs(a - b) > 0.05 * a)" "$(ppl eval_dir)" \
  "$(ppl eval_gguf)" || { cat "$T/eval_dir.log" "$T/eval_gguf.log"; fail "q4_k_m perplexity far from the merged model's"; }

start_server --model "$T/q.gguf" --parallel 2 --threads 2
body='{"model": "q", "max_tokens": 8, "temperature": 0, "messages": [{"role": "user", "content": "北京今天天气怎么样?"}],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}'
answer=$(curl -sf "$BASE/v1/chat/completions" -H 'Content-Type: application/json' -d "$body") ||
  { tail -5 "$T/server.log"; fail "serve: chat completion"; }
/usr/bin/python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["usage"]["completion_tokens"] >= 1, r' "$answer" ||
  fail "serve answer: $answer"
stop_server

# The whole recipe from this model (its own tokenizer and chat template; no tokenizer, shards or
# pretraining), the policy stages with LoRA adapters merged between stages, a few steps each.
cat >"$T/recipe.json" <<EOF
{"model": "$T/qwen", "task": {"train": 40, "held-out": 8},
 "sft": {"lora": true, "epochs": null, "steps": 2, "batch": 2, "eval-interval": 0},
 "rm": {"epochs": null, "steps": 2, "batch": 2, "eval-interval": 0},
 "dpo": {"lora": true, "epochs": null, "steps": 2, "batch": 2, "eval-interval": 0},
 "grpo": {"lora": true, "steps": 1, "batch": 2, "group": 2, "eval-interval": 0},
 "distill": {"skip": true}, "quantize": {"type": "q4_k_m"},
 "eval": {"limit": 4, "tasks": "$T/recipe/data/task/eval_held_out.jsonl"}, "serve": {"prompts": ["你好"]}}
EOF
stage recipe "$BAIMO" recipe --config "$T/recipe.json" --out "$T/recipe" --threads 2
grep -q '"vocab_size": 151936' "$T/recipe/grpo/merged/config.json" || fail "recipe: the merged model lost the padded vocabulary"
grep -q "^| serve | done |" "$T/recipe/report.md" || { cat "$T/recipe/report.md"; fail "recipe: serve not done"; }
/usr/bin/python3 -c "import json; s = {x['name']: x for x in json.load(open('$T/recipe/report.json'))['stages']}; \
assert 'exact_match' in s['pretrain']['eval']['eval_held_out'] and s['grpo']['status'] == 'done'" ||
  fail "recipe: the given model was not evaluated"
echo "test_qwen25_layout: ok"
