#!/usr/bin/env bash
# baimo pretrain settings a new user meets: a default warmup adapts to a short run (issue 19 item 6);
# special-token ids come from the tokenizer, not from the config template (issue 11 item 1);
# run_config.json stores absolute paths so --resume works from another directory (issue 11 item 7);
# a wsd run is stretched on resume while in its stable phase, and --resume-from DIR picks a checkpoint
# (issue 11 item 8).
# Usage: bash test_pretrain_settings.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_WAIT_POLICY=passive

"$BAIMO" tokenizer train --input "$ROOT/docs/guide.md" --vocab-size 320 --out "$T/tokenizer.json" >"$T/prep.log" 2>&1 \
  || { cat "$T/prep.log"; fail "tokenizer train"; }
"$BAIMO" data prepare --tokenizer "$T/tokenizer.json" --input "$ROOT/docs/guide.md" --out "$T/data" \
  --val-fraction 0.1 --seed 1 >>"$T/prep.log" 2>&1 || { cat "$T/prep.log"; fail "data prepare"; }
eot=$(/usr/bin/python3 -c "import json,sys; print([t['id'] for t in json.load(open(sys.argv[1]))['added_tokens'] if t['content'] == '<|endoftext|>'][0])" "$T/tokenizer.json")
[ "$eot" != 2 ] || fail "the test needs a tokenizer whose <|endoftext|> is not id 2"
COMMON=(--batch 2 --seq 32 --eval-batches 1 --threads 2 --peak-gflops 100)

# 1. --steps 40 without --warmup: warmup 4 (min(100, steps/10)); an explicit conflicting one is an error.
# configs/tiny.json names eos 2 / bos 1: the tokenizer's ids win, with a note on stderr.
mkdir -p "$T/cwd1" && cd "$T/cwd1"
"$BAIMO" pretrain --config "$ROOT/configs/tiny.json" --data ../data --out run --steps 40 --schedule wsd \
  --checkpoint-interval 10 --eval-interval 20 "${COMMON[@]}" >"$T/a.log" 2>"$T/a.err" || { cat "$T/a.log" "$T/a.err"; fail "steps 40"; }
grep -q '"warmup": 4' run/run_config.json || fail "warmup not min(100, steps/10): $(grep warmup run/run_config.json)"
grep -q "note: .*eos_token_id 2 replaced by .*tokenizer.json's \\[\\?$eot" "$T/a.err" || { cat "$T/a.err"; fail "no note about eos"; }
/usr/bin/python3 - "$T/cwd1/run/final/config.json" "$eot" <<'PY' || fail "final config.json keeps the template's special ids"
import json, sys
c = json.load(open(sys.argv[1]))
eos = c["eos_token_id"]
assert (eos == int(sys.argv[2])) or (isinstance(eos, list) and eos[0] == int(sys.argv[2])), c
assert c.get("bos_token_id") != 1, c
PY
if "$BAIMO" pretrain --config "$ROOT/configs/tiny.json" --data ../data --out run2 --steps 40 --warmup 100 \
  "${COMMON[@]}" 2>"$T/err"; then fail "warmup 100 > steps 40 accepted"; fi
grep -q '"warmup" 100 exceeds "steps" 40' "$T/err" || fail "$(cat "$T/err")"
# run_config.json: absolute paths.
grep -q "\"data\": \"$T/data\"" run/run_config.json || fail "data path not absolute: $(grep '"data"' run/run_config.json)"

# 2. Resume from another directory: the saved relative --data must still resolve.
cp -r "$T/cwd1/run" "$T/stretch"
rm -rf "$T/stretch/final"
mkdir -p "$T/cwd2" && cd "$T/cwd2"
rm -rf "$T/stretch/checkpoints/step_0000040" "$T/stretch/checkpoints/step_0000030"
"$BAIMO" pretrain --out "$T/stretch" --resume >"$T/b.log" 2>&1 || { cat "$T/b.log"; fail "resume from another cwd"; }
grep -q "resumed from .*step_0000020" "$T/b.log" || { cat "$T/b.log"; fail "did not resume at 20"; }
cmp "$T/cwd1/run/final/model.safetensors" "$T/stretch/final/model.safetensors" || fail "resume from another cwd differs"

# 3. Stretch the wsd run: 40 -> 80 steps from step 20 (stable phase; decay starts at 32) = an 80-step run.
cd "$T/cwd1"
"$BAIMO" pretrain --config "$ROOT/configs/tiny.json" --data ../data --out long --steps 80 --warmup 4 --schedule wsd \
  --checkpoint-interval 10 --eval-interval 20 "${COMMON[@]}" >"$T/c.log" 2>&1 || { cat "$T/c.log"; fail "80 steps"; }
cd "$T/cwd2"
"$BAIMO" pretrain --resume-from "$T/cwd1/run/checkpoints/step_0000020" --steps 80 >"$T/d.log" 2>&1 \
  || { cat "$T/d.log"; fail "--resume-from --steps 80"; }
ls "$T/cwd1/run/checkpoints" | grep -q step_0000080 || fail "no step 80: $(ls "$T/cwd1/run/checkpoints")"
cmp "$T/cwd1/long/final/model.safetensors" "$T/cwd1/run/final/model.safetensors" || fail "stretched run differs from an 80-step run"
grep -q '"steps": 80' "$T/cwd1/run/run_config.json" || fail "run_config.json not updated"
# Past the decay start (step 80 of 80) it is refused, naming the reason.
if "$BAIMO" pretrain --out "$T/cwd1/run" --resume --steps 120 2>"$T/err"; then fail "stretched past the decay"; fi
grep -q '"steps"' "$T/err" && grep -q "decay" "$T/err" || fail "$(cat "$T/err")"
echo "pretrain settings ok"
