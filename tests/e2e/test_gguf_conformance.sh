#!/usr/bin/env bash
# GGUF conformance against independent engines (tests/e2e/gguf_js, npm packages installed at run
# time into its gitignored node_modules): llama.cpp through node-llama-cpp's prebuilt linux-x64
# binaries, and the @huggingface/gguf parser.
# For a llama model (q/k rows permuted) and a tied qwen2 model (NeoX rope), both trained by baimo
# for a few seconds on Shakespeare so that greedy decoding has clear margins:
#  1. @huggingface/gguf reads baimo's f32 / q8_0 / q4_0 files with the expected metadata and tensors;
#  2. llama.cpp's own quantizer (llama_model_quantize, pure Q8_0 / Q4_0) applied to baimo's f32 GGUF
#     writes exactly the tensor bytes baimo's quantizer wrote;
#  3. llama.cpp loads baimo's GGUFs and its greedy tokens equal baimo's argmax tokens (teacher
#     forced over the same sequence: equal at every step <=> equal greedy sequences);
#     and `baimo generate` (its quantized engine reading the GGUF directly) writes the same greedy text;
#  4. a GGUF written by llama.cpp (its Q4_0, its default Q8_0 mix, and for a 256-wide llama model its
#     K-quant mixes Q4_K_M and Q6_K) converts back to a model directory in baimo, and baimo's argmax
#     tokens on it equal llama.cpp's greedy tokens;
#  5. baimo's own K-quant files (the 256-wide llama model): `--type q4_k_m` gives every tensor the
#     type llama.cpp's Q4_K_M gives it, pure q4_k / q6_k tensors are the bytes llama.cpp's quantizer
#     writes, and llama.cpp's greedy tokens on each file equal baimo's argmax tokens on it;
#  6. LoRA (issue 12): a PEFT adapter with random non-zero A and B (rslora for qwen2), exported by
#     `baimo lora export` and applied by llama.cpp to baimo's f32 GGUF, gives greedy tokens that
#     differ from the base's and equal baimo's argmax tokens on the `baimo lora merge`d model and
#     `baimo generate --lora` on the same GGUF.
# Skips (exit 0 with SKIP) only when npm cannot install the packages (no registry).
# Usage: bash test_gguf_conformance.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
JS=$ROOT/tests/e2e/gguf_js
SHARED=${BAIMO_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
source "$JS/ensure_packages.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=2

head -c 300000 "$SHARED/data/pretrain/tinyshakespeare.txt" >"$T/corpus.txt"
# gpt2 split pattern: llama.cpp knows it as tokenizer.ggml.pre "gpt-2".
"$BAIMO" tokenizer train --input "$T/corpus.txt" --vocab-size 512 --preset gpt2 --out "$T/tok.json" \
  --special-tokens '<|endoftext|>' --threads 2 >/dev/null 2>&1
head -c 6000 "$T/corpus.txt" | "$BAIMO" tokenizer encode --tokenizer "$T/tok.json" --json >"$T/ids.json"
$PY "$JS/tf_check.py" batch "$T/ids.json" "$T/batch.safetensors" 64
# The play's opening lines (inside the training batch: confident predictions); both engines get the
# same ids.
TEXT=$(head -c 2000 "$T/corpus.txt" | sed -n '5,9p')
PROMPT=$(printf '%s' "$TEXT" | "$BAIMO" tokenizer encode --tokenizer "$T/tok.json" --json | tr -d '[] ')
PLEN=$(awk -F, '{print NF}' <<<"$PROMPT")
N=12

# baimo's argmax over prompt + greedy[:-1] from model directory $1 must equal greedy $2.
check_tf() {
  $PY "$JS/tf_check.py" prompt-batch "$PROMPT" "$2" "$T/tf.safetensors"
  "$BAIMO" train-step --model "$1" --batch "$T/tf.safetensors" --steps 1 --lr 0 --dump-dir "$T/dump" >/dev/null
  $PY "$JS/tf_check.py" argmax "$T/dump/outputs.safetensors" "$PLEN" "$2"
}

for variant in llama qwen2 kquant; do
  D=$T/$variant
  mkdir -p "$D"
  $PY - "$ROOT/configs/tiny.json" "$D/config.json" "$variant" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c.update({"vocab_size": 512, "bos_token_id": None, "eos_token_id": 511})
if sys.argv[3] == "qwen2":
    c.update({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "attention_bias": True,
              "tie_word_embeddings": True})
if sys.argv[3] == "kquant":  # rows of 256: llama.cpp's K-quants apply
    c.update({"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2})
json.dump(c, open(sys.argv[2], "w"))
PYEOF
  arch=$variant
  if [ "$variant" = kquant ]; then
    arch=llama
    "$BAIMO" init --config "$D/config.json" --tokenizer "$T/tok.json" --out "$D/init" --seed 1 >/dev/null
    "$BAIMO" train-step --model "$D/init" --batch "$T/batch.safetensors" --steps 40 --lr 3e-3 --out "$D/model" >/dev/null
    "$BAIMO" convert "$D/model" "$D/f32.gguf" >/dev/null 2>&1
    for ft in 15 18; do  # MOSTLY_Q4_K_M, MOSTLY_Q6_K
      $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_$ft.gguf" $ft >/dev/null 2>&1 || fail "llama_model_quantize ftype $ft"
      G=$(node "$JS/engines.mjs" greedy "$D/ll_$ft.gguf" "$PROMPT" $N)
      "$BAIMO" convert "$D/ll_$ft.gguf" "$D/ll_${ft}_dir" >/dev/null 2>&1 || fail "baimo cannot read llama.cpp's ftype $ft file"
      check_tf "$D/ll_${ft}_dir" "$G" || fail "ftype $ft (written by llama.cpp): llama.cpp and baimo disagree"
    done
    # 5. K-quant files written by baimo
    for t in q4_k_m q4_k q6_k; do
      "$BAIMO" quantize --model "$D/model" --type $t --out "$D/$t.gguf" >/dev/null 2>&1 || fail "baimo quantize --type $t"
    done
    node "$JS/engines.mjs" inspect "$D/q4_k_m.gguf" >"$D/mine.json"
    node "$JS/engines.mjs" inspect "$D/ll_15.gguf" >"$D/theirs.json"
    $PY - "$D/mine.json" "$D/theirs.json" <<'PYEOF' || fail "q4_k_m: tensor types differ from llama.cpp's Q4_K_M"
import json, sys
mine, theirs = (json.load(open(f)) for f in sys.argv[1:3])
types = lambda j: {t["name"]: t["type"] for t in j["tensors"]}
assert types(mine) == types(theirs), (types(mine), types(theirs))
assert mine["metadata"]["general.file_type"] == 15
assert sorted(set(types(mine).values())) == [0, 12, 14], types(mine)  # F32 norms, Q4_K, Q6_K
PYEOF
    $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_q4k.gguf" 15 pure >/dev/null 2>&1 || fail "llama_model_quantize q4_k pure"
    $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_q6k.gguf" 18 pure >/dev/null 2>&1 || fail "llama_model_quantize q6_k pure"
    node "$JS/engines.mjs" same-tensors "$D/q4_k.gguf" "$D/ll_q4k.gguf" || fail "q4_k bytes differ from llama.cpp's"
    node "$JS/engines.mjs" same-tensors "$D/q6_k.gguf" "$D/ll_q6k.gguf" || fail "q6_k bytes differ from llama.cpp's"
    for t in q4_k_m q4_k q6_k; do
      G=$(node "$JS/engines.mjs" greedy "$D/$t.gguf" "$PROMPT" $N)
      "$BAIMO" convert "$D/$t.gguf" "$D/${t}_dir" >/dev/null 2>&1 || fail "baimo cannot read its own $t file"
      check_tf "$D/${t}_dir" "$G" || fail "$t (written by baimo): llama.cpp and baimo disagree"
      echo "kquant $t: llama.cpp greedy = baimo argmax"
    done
    continue
  fi
  "$BAIMO" init --config "$D/config.json" --tokenizer "$T/tok.json" --out "$D/init" --seed 1 >/dev/null
  "$BAIMO" train-step --model "$D/init" --batch "$T/batch.safetensors" --steps 60 --lr 3e-3 --out "$D/model" >/dev/null
  "$BAIMO" convert "$D/model" "$D/f32.gguf" >/dev/null 2>&1
  "$BAIMO" quantize --model "$D/model" --type q8_0 --out "$D/q8.gguf" >/dev/null 2>&1
  "$BAIMO" quantize --model "$D/model" --type q4_0 --out "$D/q4.gguf" >/dev/null 2>&1

  # 1. an independent parser
  for f in f32 q8 q4; do
    node "$JS/engines.mjs" inspect "$D/$f.gguf" >"$D/$f.json"
    $PY - "$D/$f.json" "$arch" "$f" <<'PYEOF' || fail "$arch $f: @huggingface/gguf view"
import json, sys
j = json.load(open(sys.argv[1])); arch = sys.argv[2]; kind = sys.argv[3]; m = j["metadata"]
want_type = {"f32": 0, "q8": 8, "q4": 2}[kind]
assert m["general.architecture"] == arch, m["general.architecture"]
assert m[arch + ".block_count"] == 4 and m[arch + ".embedding_length"] == 128
assert m[arch + ".attention.head_count_kv"] == 2 and m["tokenizer.ggml.pre"] == "gpt-2"
assert j["n_tokens"] == 512 and j["n_merges"] > 100
names = {t["name"]: t for t in j["tensors"]}
assert ("output.weight" in names) == (arch == "llama")
assert names["blk.3.ffn_down.weight"]["type"] == want_type and names["blk.3.ffn_down.weight"]["shape"] == [352, 128]
assert names["blk.0.attn_norm.weight"]["type"] == 0
assert (arch == "qwen2") == ("blk.0.attn_q.bias" in names)
PYEOF
  done

  # 2. llama.cpp's quantizer writes the same bytes as baimo's
  $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_q8.gguf" 7 pure >/dev/null 2>&1 || fail "$arch: llama_model_quantize q8_0"
  $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_q4.gguf" 2 pure >/dev/null 2>&1 || fail "$arch: llama_model_quantize q4_0"
  $PY "$JS/llama_quantize.py" "$D/f32.gguf" "$D/ll_mixed.gguf" 7 >/dev/null 2>&1 || fail "$arch: llama_model_quantize default"
  node "$JS/engines.mjs" same-tensors "$D/q8.gguf" "$D/ll_q8.gguf" >/dev/null || fail "$arch: q8_0 bytes differ from llama.cpp's"
  node "$JS/engines.mjs" same-tensors "$D/q4.gguf" "$D/ll_q4.gguf" >/dev/null || fail "$arch: q4_0 bytes differ from llama.cpp's"

  # 3. llama.cpp runs baimo's files: greedy tokens = baimo's argmax tokens
  G=$(node "$JS/engines.mjs" greedy "$D/f32.gguf" "$PROMPT" $N)
  G_F32=$G  # the base's greedy tokens, for step 6
  echo "$arch f32: llama.cpp greedy $G"
  check_tf "$D/model" "$G" || fail "$arch f32: llama.cpp and baimo disagree"
  for f in q8 q4; do
    G=$(node "$JS/engines.mjs" greedy "$D/$f.gguf" "$PROMPT" $N)
    "$BAIMO" convert "$D/$f.gguf" "$D/${f}_dir" >/dev/null 2>&1
    check_tf "$D/${f}_dir" "$G" || fail "$arch $f: llama.cpp and baimo disagree"
  done

  # 3b. baimo's own quantized engine on the same files (load_gguf_model: mmap, packed Q8_0/Q4_0
  # kernels, int8 activations) generates llama.cpp's greedy text
  for f in f32 q8 q4; do
    G=$(node "$JS/engines.mjs" greedy "$D/$f.gguf" "$PROMPT" $N)
    want=$(printf '%s' "$G" | "$BAIMO" tokenizer decode --tokenizer "$T/tok.json")
    got=$("$BAIMO" generate --model "$D/$f.gguf" --prompt "$TEXT" --temperature 0 --max-tokens $N --ignore-eos --quiet)
    [ "$got" = "$want" ] || fail "$arch $f: baimo generate gave '$got', llama.cpp '$want'"
    echo "$arch $f: baimo generate = llama.cpp greedy ($N tokens)"
  done

  # 4. GGUFs written by llama.cpp load in baimo
  for f in ll_q4 ll_mixed; do
    G=$(node "$JS/engines.mjs" greedy "$D/$f.gguf" "$PROMPT" $N)
    "$BAIMO" convert "$D/$f.gguf" "$D/${f}_dir" >/dev/null 2>&1 || fail "$arch: baimo cannot read llama.cpp's $f.gguf"
    check_tf "$D/${f}_dir" "$G" || fail "$arch $f (written by llama.cpp): llama.cpp and baimo disagree"
  done

  # 6. LoRA: baimo's GGUF adapter in llama.cpp = baimo's merge = baimo's --lora
  rs=""; [ "$arch" = qwen2 ] && rs="--rslora"
  $PY "$ROOT/tests/e2e/lora_adapter.py" "$D/model" "$D/lora" --r 4 --alpha 8 --b-std 0.08 --seed 3 $rs
  "$BAIMO" lora export --model "$D/model" --adapter "$D/lora" --out "$D/lora.gguf" >/dev/null || fail "$arch: lora export"
  "$BAIMO" lora merge --model "$D/model" --adapter "$D/lora" --out "$D/lora_merged" >/dev/null || fail "$arch: lora merge"
  G0=$G_F32
  G=$(node "$JS/engines.mjs" greedy "$D/f32.gguf" "$PROMPT" $N "$D/lora.gguf")
  [ "$G" != "$G0" ] || fail "$arch: the adapter does not change llama.cpp's greedy tokens ($G): the test cannot fail"
  check_tf "$D/lora_merged" "$G" || fail "$arch lora: llama.cpp with baimo's GGUF adapter and baimo's merged model disagree"
  want=$(printf '%s' "$G" | "$BAIMO" tokenizer decode --tokenizer "$T/tok.json")
  got=$("$BAIMO" generate --model "$D/f32.gguf" --lora "$D/lora" --prompt "$TEXT" --temperature 0 --max-tokens $N --ignore-eos --quiet)
  [ "$got" = "$want" ] || fail "$arch lora: baimo generate --lora gave '$got', llama.cpp '$want'"
  echo "$arch lora: llama.cpp greedy with baimo's GGUF adapter = baimo merge = baimo generate --lora ($G vs base $G0)"
done
echo "OK: GGUF conformance with llama.cpp and @huggingface/gguf"
