#!/usr/bin/env bash
# `baimo sft` end to end on the real base model and chat data of ../shared:
#  - full fine-tune: killed with SIGKILL mid-run and resumed, it ends bit-identical to an uninterrupted
#    run (weights, AdamW moments, every step's loss); the final model directory carries the tokenizer and
#    a tokenizer_config.json with the chat template, and `baimo chat`-style generation runs on it;
#  - LoRA: only the adapter trains; the output is a PEFT adapter directory that `generate --lora` applies
#    and `lora merge` folds in (the same greedy tokens both ways);
#  - --grad-checkpoint (activation checkpointing): the same loss curve as without, bit for bit, for a
#    full fine-tune and for LoRA with dropout over packed rows; the summary says so, run_config.json keeps it;
#  - a base whose tokenizer lacks ChatML's tokens gets them (tokenizer written back, vocabulary grown);
#  - bad input (a malformed record, a template the tokenizer cannot express under LoRA, an unknown
#    format) is a clear error naming the file / record / field, exit 1, nothing written to --out.
# Usage: bash test_sft.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/finetune_env.sh"
DATA="$SHARED/data/sft"

# ---- full fine-tune: kill -9 + resume is bit-identical ----
ARGS=(sft --model "$BASE" --data "$DATA/identity.json" --name Baimo --author "the baimo team" --max-len 128
      --batch 4 --steps 12 --checkpoint-interval 4 --eval-interval 6 --val-fraction 0.1 --seed 3 --threads 2
      --lr 1e-4 --peak-gflops 1)
"$BAIMO" "${ARGS[@]}" --out "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted full run"; }
grep -q "^data: 91 conversations" "$T/a.log" || { cat "$T/a.log"; fail "data line"; }
grep -q "^eval step 0: val_loss" "$T/a.log" || fail "no evaluation before training"
[ "$(losses "$T/a" | wc -l)" = 12 ] || fail "expected 12 step lines"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -f "$T/a/final/$f" ] || fail "final/$f missing"
done
grep -q "im_start" "$T/a/final/tokenizer_config.json" || fail "no chat template in final/tokenizer_config.json"

kill_resume_matches "$T/a" "$T/b" 6 12 "$BAIMO" "${ARGS[@]}"
echo "full: kill -9 + resume bit-identical"
"$BAIMO" generate --model "$T/a/final" --prompt "hi" --max-tokens 8 --chat-template chatml >"$T/gen.log" 2>&1 \
  || { cat "$T/gen.log"; fail "generate on the fine-tuned model"; }
# The held-out conversations are written for evaluation; eval reports the share of answers that end their turn.
[ "$(wc -l <"$T/a/held_out.jsonl")" = 9 ] || fail "held_out.jsonl should hold the 9 held-out conversations"
head -n 3 "$T/a/held_out.jsonl" | sed 's/.*"content":"\([^"]*\)","role":"user".*"content":"\([^"]*\)","role":"assistant".*/{"prompt": "\1", "answer": "\2"}/' >"$T/held.jsonl"
"$BAIMO" eval run --model "$T/a/final" --tasks "$T/held.jsonl" --max-tokens 16 --threads 2 >"$T/eval.log" 2>&1 \
  || { cat "$T/eval.log"; cat "$T/held.jsonl"; fail "eval on the fine-tuned model"; }
grep -q "eot_rate" "$T/eval.log" || { cat "$T/eval.log"; fail "eval should report eot_rate for a chat template"; }

# ---- data parallel: 2 ranks (2 rows of every 4-row micro-batch each) = 1 process ----
source "$(dirname "$0")/mpi_env.sh"
MARGS=(sft --model "$BASE" --data "$DATA/identity.json" --max-len 128 --batch 4 --steps 3 --val-fraction 0.1 --seed 3
       --lr 1e-4 --peak-gflops 1 --checkpoint-interval 0)
OMP_NUM_THREADS=2 "$BAIMO" "${MARGS[@]}" --threads 2 --out "$T/one" >"$T/one.log" 2>&1 || { cat "$T/one.log"; fail "1 process"; }
OMP_NUM_THREADS=1 timeout 300 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$BAIMO" "${MARGS[@]}" --threads 1 --out "$T/two" >"$T/two.log" 2>&1 \
  || { cat "$T/two.log"; fail "mpirun -np 2"; }
/usr/bin/python3 - "$T/one/metrics.jsonl" "$T/two/metrics.jsonl" <<'PY' || fail "2 ranks differ from 1 process"
import json, sys
def read(p):
    return [json.loads(l) for l in open(p) if l.strip() and "event" not in l]
a, b = read(sys.argv[1]), read(sys.argv[2])
assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3]
for x, y in zip(a, b):
    for k in ("loss", "val_loss"):
        if k in x or k in y:
            assert abs(x[k] - y[k]) <= 1e-4 * abs(x[k]), (x["step"], k, x[k], y[k])
PY
echo "data parallel: 2 ranks = 1 process"

# ---- LoRA: a PEFT adapter that generate --lora applies and lora merge folds in ----
"$BAIMO" sft --model "$BASE" --data "$DATA/alpaca_zh_demo.json" --lora --lora-r 4 --max-len 256 --batch 4 \
  --steps 4 --val-fraction 0 --seed 1 --threads 2 --peak-gflops 1 --out "$T/l" >"$T/l.log" 2>&1 \
  || { cat "$T/l.log"; fail "LoRA run"; }
grep -q "sft (LoRA)" "$T/l.log" || fail "not a LoRA run"
for f in adapter_config.json adapter_model.safetensors; do [ -f "$T/l/final/$f" ] || fail "final/$f missing"; done
grep -q '"peft_type": "LORA"' "$T/l/final/adapter_config.json" || fail "adapter_config.json is not PEFT's"
"$BAIMO" lora merge --model "$BASE" --adapter "$T/l/final" --out "$T/merged" >/dev/null 2>&1 || fail "lora merge"
g1=$("$BAIMO" generate --model "$BASE" --lora "$T/l/final" --prompt "你好" --max-tokens 12 --temperature 0 2>/dev/null)
g2=$("$BAIMO" generate --model "$T/merged" --prompt "你好" --max-tokens 12 --temperature 0 2>/dev/null)
[ "$g1" = "$g2" ] || fail "generate --lora ($g1) differs from the merged model ($g2)"
echo "LoRA: PEFT adapter applied at load == merged"
# trainable tokens (default auto): the template markers' rows are in the adapter; GGUF export refuses it
grep -q "^LoRA trainable tokens: <|im_start|>=[0-9]* <|im_end|>=[0-9]* (embedding and tied head rows)" "$T/l.log" \
  || { cat "$T/l.log"; fail "LoRA should train the template's token rows by default"; }
grep -q '"trainable_token_indices"' "$T/l/final/adapter_config.json" || fail "adapter_config.json lacks trainable_token_indices"
"$BAIMO" lora export --model "$BASE" --adapter "$T/l/final" --out "$T/l.gguf" >"$T/le.log" 2>&1 \
  && fail "lora export of an adapter with token rows should fail"
grep -q "cannot hold; merge it instead" "$T/le.log" || { cat "$T/le.log"; fail "lora export message"; }
[ ! -e "$T/l.gguf" ] || fail "the refused export wrote $T/l.gguf"
echo "LoRA: template token rows trained, merged and applied at load; GGUF export refused"

# ---- --grad-checkpoint: the same losses as without (full, and LoRA with dropout over packed rows) ----
for mode in full lora; do
  GARGS=(sft --model "$BASE" --data "$DATA/identity.json" --max-len 128 --batch 4 --steps 3 --val-fraction 0 --seed 5
         --threads 2 --peak-gflops 1 --checkpoint-interval 0 --lr 1e-3)
  [ "$mode" = lora ] && GARGS+=(--lora --lora-r 4 --lora-dropout 0.3)
  "$BAIMO" "${GARGS[@]}" --out "$T/g-$mode" >"$T/g-$mode.log" 2>&1 || { cat "$T/g-$mode.log"; fail "$mode without checkpointing"; }
  "$BAIMO" "${GARGS[@]}" --grad-checkpoint --out "$T/gc-$mode" >"$T/gc-$mode.log" 2>&1 \
    || { cat "$T/gc-$mode.log"; fail "$mode --grad-checkpoint"; }
  grep -q "threads, grad checkpointing$" "$T/gc-$mode.log" || { cat "$T/gc-$mode.log"; fail "summary line"; }
  grep -q "grad checkpointing" "$T/g-$mode.log" && fail "checkpointing is off by default"
  grep -q '"grad_checkpoint": true' "$T/gc-$mode/run_config.json" || fail "run_config.json should keep grad_checkpoint"
  [ "$(losses "$T/g-$mode" | wc -l)" = 3 ] || fail "expected 3 step lines"
  [ "$(losses "$T/g-$mode")" = "$(losses "$T/gc-$mode")" ] \
    || { losses "$T/g-$mode"; losses "$T/gc-$mode"; fail "$mode: --grad-checkpoint changed the losses"; }
done
echo "grad checkpoint: the same losses (full, LoRA with dropout)"

# ---- a tokenizer without the template's tokens gets them ----
printf 'the quick brown fox jumps over the lazy dog\n%.0s' $(seq 1 200) >"$T/corpus.txt"
"$BAIMO" tokenizer train --input "$T/corpus.txt" --vocab-size 300 --special-tokens "<|endoftext|>" --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer train"
"$BAIMO" init --config "$ROOT/configs/tiny.json" --tokenizer "$T/tok.json" --out "$T/tiny" >/dev/null 2>&1 || fail "init"
"$BAIMO" sft --model "$T/tiny" --data "$DATA/identity.json" --template chatml --max-len 256 --batch 2 --steps 2 \
  --val-fraction 0 --threads 2 --peak-gflops 1 --out "$T/t" >"$T/t.log" 2>&1 || { cat "$T/t.log"; fail "sft with added tokens"; }
grep -q "^tokenizer: added <|im_start|> <|im_end|>" "$T/t.log" || { cat "$T/t.log"; fail "tokens not added"; }
grep -q '"<|im_end|>"' "$T/t/final/tokenizer.json" || fail "the final tokenizer lacks <|im_end|>"
"$BAIMO" sft --model "$T/tiny" --data "$DATA/identity.json" --template chatml --lora --steps 1 \
  --out "$T/t2" >"$T/t2.log" 2>&1 && fail "LoRA on a tokenizer without the template's tokens should fail"
grep -q "lacks the chatml template's tokens" "$T/t2.log" || { cat "$T/t2.log"; fail "message"; }
[ ! -e "$T/t2" ] || fail "the failed LoRA run wrote $T/t2"

# ---- bad input: clear errors, nothing written ----
printf '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n{"messages": [{"role": "user"}]}\n' >"$T/bad.jsonl"
"$BAIMO" sft --model "$BASE" --data "$T/bad.jsonl" --steps 1 --out "$T/bad" >"$T/bad.log" 2>&1 && fail "a malformed record should fail"
grep -q "bad.jsonl" "$T/bad.log" && grep -qi "record 2\|line 2" "$T/bad.log" && grep -q "content" "$T/bad.log" \
  || { cat "$T/bad.log"; fail "the error should name the file, the record and the field"; }
[ ! -e "$T/bad" ] || fail "the failed run wrote $T/bad"
"$BAIMO" sft --model "$BASE" --data "$DATA/identity.json" --format csv --steps 1 --out "$T/bad2" >"$T/bad2.log" 2>&1 \
  && fail "an unknown format should fail"
grep -q "format" "$T/bad2.log" || { cat "$T/bad2.log"; fail "format message"; }
echo "bad input: clear errors, nothing written"
echo "PASS"
