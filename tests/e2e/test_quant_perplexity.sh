#!/usr/bin/env bash
# Quantized models keep their perplexity (issue 5). A small llama model (configs/tiny.json, 512-token
# gpt2-pattern tokenizer) is trained by baimo with a fixed amount of work (train-step over 12
# consecutive batches of Shakespeare, 4 AdamW steps each: the same model whatever the machine's
# load), written as GGUF in f32, Q8_0 and Q4_0 by `baimo quantize`, and evaluated with
# `baimo eval perplexity` on held-out text (the last 40 KB of the play file):
#   f32 GGUF == model directory (same weights, same engine), Q8_0 within 1% of f32, Q4_0 within 10%.
# Usage: bash test_quant_perplexity.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=2
src=$SHARED/data/pretrain/tinyshakespeare.txt
head -c 300000 "$src" >"$T/train.txt"
tail -c 40000 "$src" >"$T/held.txt"
"$BAIMO" tokenizer train --input "$T/train.txt" --vocab-size 512 --preset gpt2 --out "$T/tok.json" \
  --special-tokens '<|endoftext|>' --threads 2 >/dev/null 2>&1 || fail "tokenizer train"
"$BAIMO" tokenizer encode --tokenizer "$T/tok.json" --json <"$T/train.txt" >"$T/ids.json"
$PY - "$T/ids.json" "$T" "$ROOT/tests/reference" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[3])
import numpy as np, safetensors_io
ids = np.array(json.load(open(sys.argv[1])), dtype=np.int32)
rows, t = 16, 128
for b in range(12):  # consecutive, non-overlapping windows
    a = ids[b * rows * (t + 1):(b + 1) * rows * (t + 1)].reshape(rows, t + 1)
    safetensors_io.write(f"{sys.argv[2]}/batch{b:02d}.safetensors",
                         {"input_ids": a[:, :-1].copy(), "targets": a[:, 1:].copy()})
PYEOF
"$PY" -c "import json; c = json.load(open('$ROOT/configs/tiny.json')); c.update(vocab_size=512, bos_token_id=None, eos_token_id=511); json.dump(c, open('$T/config.json', 'w'))"
"$BAIMO" init --config "$T/config.json" --tokenizer "$T/tok.json" --out "$T/model" --seed 1 >/dev/null
for b in "$T"/batch*.safetensors; do
  "$BAIMO" train-step --model "$T/model" --batch "$b" --steps 4 --lr 5e-3 --out "$T/model" >/dev/null || fail "train-step"
done
M=$T/model
for t in f32 q8_0 q4_0; do
  "$BAIMO" quantize --model "$M" --type $t --out "$T/$t.gguf" >/dev/null 2>&1 || fail "quantize $t"
done
ppl() {
  "$BAIMO" eval perplexity --model "$1" --input "$T/held.txt" --ctx 256 --stride 256 | awk '$1 == "perplexity" {print $2}'
}
base=$(ppl "$M")
f32=$(ppl "$T/f32.gguf")
q8=$(ppl "$T/q8_0.gguf")
q4=$(ppl "$T/q4_0.gguf")
echo "held-out perplexity: model dir $base, f32 GGUF $f32, Q8_0 $q8, Q4_0 $q4"
$PY - "$base" "$f32" "$q8" "$q4" <<'PYEOF' || exit 1
import sys
base, f32, q8, q4 = map(float, sys.argv[1:])
ok = True
def check(cond, msg):
    global ok
    print(("ok   " if cond else "FAIL ") + msg)
    ok &= cond
check(base < 250, f"the trained model learned something (perplexity {base:.1f} < 250 over a 512-token vocabulary)")
check(abs(f32 - base) <= 1e-4 * base, f"f32 GGUF = model directory ({f32} vs {base})")
check(abs(q8 - f32) <= 0.01 * f32, f"Q8_0 within 1% of f32 ({(q8 / f32 - 1) * 100:+.3f}%)")
check(abs(q4 - f32) <= 0.10 * f32, f"Q4_0 within 10% of f32 ({(q4 / f32 - 1) * 100:+.3f}%)")
sys.exit(0 if ok else 1)
PYEOF
echo "OK: quantized perplexity"
