#!/usr/bin/env bash
# baimo tokenizer encode / decode / stats against the shared tokenizers: known ids, round trip,
# and clear errors (exit 1) for bad input.
set -euo pipefail
baimo=$1
here=$(cd "$(dirname "$0")" && pwd)
shared=${BAIMO_SHARED:-$here/../../../shared}
v=$shared/vectors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cl100k ids from vectors_cl100k_special.jsonl ("Hello<|endoftext|>World" with allowed specials)
got=$(printf 'Hello<|endoftext|>World' | "$baimo" tokenizer encode --tokenizer "$v/cl100k_base.tiktoken" --json --allow-special)
[ "$got" = "[9906,100257,10343]" ] || { echo "cl100k allow-special: $got"; exit 1; }
got=$(printf '<|endoftext|>' | "$baimo" tokenizer encode --tokenizer "$v/cl100k_base.tiktoken" --json)
[ "$got" = "[27,91,8862,728,428,91,29]" ] || { echo "cl100k as text: $got"; exit 1; }

# round trip through every kind of tokenizer file
printf '混合 text：你好, world!\n  12345 🦙\n' > "$tmp/in.txt"
for tok in "$v/cl100k_base.tiktoken" "$v/o200k_base.tiktoken" "$v/llama3/tokenizer.json" \
           "$v/gguf-vocab/ggml-vocab-gpt-2.gguf"; do
  "$baimo" tokenizer encode --tokenizer "$tok" < "$tmp/in.txt" > "$tmp/ids.txt"
  "$baimo" tokenizer decode --tokenizer "$tok" < "$tmp/ids.txt" > "$tmp/out.txt"
  cmp "$tmp/in.txt" "$tmp/out.txt" || { echo "round trip failed for $tok"; exit 1; }
done

"$baimo" tokenizer stats --tokenizer "$v/cl100k_base.tiktoken" --input "$tmp/in.txt" > "$tmp/stats.txt"
grep -q '^tokens_per_char ' "$tmp/stats.txt" || { echo "stats output:"; cat "$tmp/stats.txt"; exit 1; }

# errors: bad id, bad tokenizer file, missing file
if echo "12 x" | "$baimo" tokenizer decode --tokenizer "$v/cl100k_base.tiktoken" 2> "$tmp/err"; then exit 1; fi
grep -q "baimo: error" "$tmp/err"
printf '{"model": 1}' > "$tmp/bad.json"
if echo hi | "$baimo" tokenizer encode --tokenizer "$tmp/bad.json" 2> "$tmp/err"; then exit 1; fi
grep -q "bad.json" "$tmp/err" || { cat "$tmp/err"; exit 1; }
if echo hi | "$baimo" tokenizer encode --tokenizer "$tmp/missing.tiktoken" 2> "$tmp/err"; then exit 1; fi
grep -q "missing.tiktoken" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "tokenizer cli: ok"
