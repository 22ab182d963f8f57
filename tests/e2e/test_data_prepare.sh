#!/usr/bin/env bash
# baimo data prepare end to end: a tokenizer trained here on text this test writes; plain text blocks,
# JSONL (dotted field), JSON arrays with a joined string-array field, a directory read recursively.
# Checks the shards against Python's own reading of the inputs (document count, every document's
# ids = the tokenizer's ids, one end-of-text after each), byte-identical re-runs (1 and 2 threads),
# the copied tokenizer, the summary, bad input naming file and line with nothing written, and,
# when $BAIMO_SHARED is there, the real corpus in $BAIMO_SHARED/data/pretrain.
# Usage: bash test_data_prepare.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${BAIMO_SHARED:-$(realpath -m "$ROOT/../shared")}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

mkdir -p "$T/corpus/zh" "$T/corpus/.hidden"
$PY - "$T/corpus" <<'PY'
import json, random, sys, os
d = sys.argv[1]
rng = random.Random(5)
words = "the of and to in is was for on that with as by it from at his an are were which this be".split()
zh = "春眠不觉晓处处闻啼鸟夜来风雨声花落知多少床前明月光疑是地上霜举头望山低故乡"
def sentence():
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))).capitalize() + "."
with open(os.path.join(d, "a.txt"), "w") as f:  # 60 blocks, some with CRLF lines, extra blank lines
    for i in range(60):
        lines = [sentence() for _ in range(rng.randint(1, 4))]
        f.write(("\r\n" if i % 7 == 0 else "\n").join(lines) + "\n\n" + ("   \n" if i % 5 == 0 else ""))
with open(os.path.join(d, "b.jsonl"), "w") as f:  # 40 records, field meta.body, blank lines between
    for i in range(40):
        f.write(json.dumps({"id": i, "meta": {"body": sentence() + " " + sentence()}}, ensure_ascii=False) + "\n")
        if i % 9 == 0: f.write("\n")
with open(os.path.join(d, "zh", "poems.json"), "w") as f:  # 30 poems like chinese-poetry
    json.dump([{"author": "a%d" % i, "paragraphs": ["".join(rng.choice(zh) for _ in range(7)) + "，" +
               "".join(rng.choice(zh) for _ in range(7)) + "。" for _ in range(rng.randint(2, 4))]}
               for i in range(30)], f, ensure_ascii=False, indent=2)
with open(os.path.join(d, ".hidden", "skip.txt"), "w") as f: f.write("never read\n")
with open(os.path.join(d, "notes.bin"), "w") as f: f.write("never read\n")
PY
cat "$T/corpus/a.txt" "$T/corpus/zh/poems.json" >"$T/train.txt"
"$BAIMO" tokenizer train --input "$T/train.txt" --vocab-size 500 --out "$T/tok.json" >/dev/null 2>&1 || fail "tokenizer train"

# --help says how plain text is cut into documents.
"$BAIMO" data prepare --help | grep -q "blank line" || fail "--help does not describe plain-text documents"

FIELDS=(--field meta.body paragraphs)
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/out1" "${FIELDS[@]}" \
  --val-fraction 0.1 --seed 3 --threads 1 --shard-tokens 1000 >"$T/stdout" 2>"$T/log" || { cat "$T/log"; fail "prepare"; }
grep -q "prepared 130 documents from 3 files" "$T/log" || { cat "$T/log"; fail "summary: document count"; }
grep -q "tokens per character" "$T/log" || fail "summary: tokens per character"
grep -q "tokenizing" "$T/log" || fail "no progress bar"
[ "$(cat "$T/stdout")" = "$T/out1" ] || fail "stdout is not the output directory"
cmp -s "$T/tok.json" "$T/out1/tokenizer.json" || fail "tokenizer.json not copied"

# Byte-identical: 2 threads into another directory, and 2 threads again over the first one.
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/out2" "${FIELDS[@]}" \
  --val-fraction 0.1 --seed 3 --threads 2 --shard-tokens 1000 >/dev/null 2>&1 || fail "prepare 2 threads"
cp -r "$T/out1" "$T/out1.first"
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/out1" "${FIELDS[@]}" \
  --val-fraction 0.1 --seed 3 --threads 2 --shard-tokens 1000 >/dev/null 2>&1 || fail "re-run"
diff -r "$T/out1.first" "$T/out2" >/dev/null || fail "1 and 2 threads give different shards"
diff -r "$T/out1.first" "$T/out1" >/dev/null || fail "re-running gives different shards"

# The shards against Python's reading of the inputs and tokenizer ids from `baimo tokenizer encode`.
$PY - "$T/corpus" "$T/out1" "$BAIMO" <<'PY' || fail "shard content"
import json, os, re, subprocess, sys
import numpy as np
corpus, out, baimo = sys.argv[1:]
def text_blocks(text):  # blocks of lines between blank (white-space only) lines; a last '\r' dropped
    out, cur = [], []
    for line in text.split("\n") + [""]:
        if line.strip(" \t\r\f\v"):
            cur.append(line)
        elif cur:
            out.append("\n".join(cur).removesuffix("\r"))
            cur = []
    return out
docs = text_blocks(open(os.path.join(corpus, "a.txt"), newline="").read())
docs += [json.loads(l)["meta"]["body"] for l in open(os.path.join(corpus, "b.jsonl")) if l.strip()]
docs += ["\n".join(p["paragraphs"]) for p in json.load(open(os.path.join(corpus, "zh", "poems.json")))]
assert len(docs) == 130, len(docs)
ix = json.load(open(os.path.join(out, "index.json")))
assert ix["format"] == "baimo-shards-v1" and ix["dtype"] == "uint16" and ix["vocab_size"] == 500, ix
eot = ix["eot_id"]
tok = json.load(open(os.path.join(out, "tokenizer.json")))
assert {a["content"]: a["id"] for a in tok["added_tokens"]}["<|endoftext|>"] == eot
splits = {}
for name, s in ix["splits"].items():
    arrs = [np.fromfile(os.path.join(out, sh["file"]), dtype=np.uint16) for sh in s["shards"]]
    assert [len(a) for a in arrs] == [sh["tokens"] for sh in s["shards"]]
    ids = np.concatenate(arrs).tolist()
    assert len(ids) == s["tokens"] and ids.count(eot) == s["documents"] and ids[-1] == eot
    splits[name] = ids
assert len(ix["splits"]["train"]["shards"]) > 1, "expected several train shards"
assert 3 <= ix["splits"]["val"]["documents"] <= 30, ix["splits"]["val"]
assert ix["splits"]["train"]["documents"] + ix["splits"]["val"]["documents"] == 130
# Each document's ids, computed by baimo tokenizer encode one by one, appear in order in one split.
enc = []
for d in docs:
    r = subprocess.run([baimo, "tokenizer", "encode", "--tokenizer", os.path.join(out, "tokenizer.json")],
                       input=d.encode(), capture_output=True, check=True)
    enc.append([int(x) for x in r.stdout.split()])
pos = {"train": 0, "val": 0}
for i, e in enumerate(enc):
    for name, ids in splits.items():
        p = pos[name]
        if ids[p:p + len(e) + 1] == e + [eot]:
            pos[name] = p + len(e) + 1
            break
    else:
        raise SystemExit("document %d not found next in any split" % i)
assert pos["train"] == len(splits["train"]) and pos["val"] == len(splits["val"])
PY

# An output directory inside the input directory: its files are not read back as input.
cp -r "$T/corpus" "$T/nested"
for i in 1 2; do
  "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/nested" --out "$T/nested/shards" "${FIELDS[@]}" --shard-tokens 1000 \
    --val-fraction 0.1 --seed 3 >/dev/null 2>"$T/log" || { cat "$T/log"; fail "nested output, run $i"; }
done
diff -r "$T/out1" "$T/nested/shards" >/dev/null || fail "nested output differs"

# Another seed gives another split; --val-fraction 0 gives no val split.
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/out3" "${FIELDS[@]}" \
  --val-fraction 0.1 --seed 4 >/dev/null 2>&1 || fail "seed 4"
cmp -s "$T/out1/val_00000.bin" "$T/out3/val_00000.bin" && fail "seed does not change the split"
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/out4" "${FIELDS[@]}" \
  --val-fraction 0 >/dev/null 2>&1 || fail "val-fraction 0"
grep -q '"val"' "$T/out4/index.json" && fail "val split with --val-fraction 0"

# Bad input: exit 1, the file and line named, nothing written.
expect_error() {  # expect_error NEEDLE ARGS...
  local needle=$1; shift
  set +e
  "$BAIMO" data prepare --tokenizer "${TOK:-$T/tok.json}" --out "$T/bad" "$@" >/dev/null 2>"$T/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || fail "exit $rc for $*"
  grep -qF -- "$needle" "$T/err" || { cat "$T/err"; fail "message for $* lacks '$needle'"; }
  [ ! -e "$T/bad" ] || fail "output written for bad input $*"
  [ ! -e "$T/.bad.partial" ] || fail "staging directory left for bad input $*"
}
printf '{"text": "ok"}\n\n{"text": "ok"}\n{"text": broken\n' >"$T/bad.jsonl"
expect_error "bad.jsonl:4: invalid JSON" --input "$T/bad.jsonl"
printf '{"text": "ok"}\n{"body": "no text"}\n' >"$T/missing.jsonl"
expect_error 'missing.jsonl:2: field "text" is missing' --input "$T/missing.jsonl"
printf '[\n {"paragraphs": ["a"]},\n {"paragraphs": "b"},\n {"paragraphs": [1]}\n]\n' >"$T/poem.json"
expect_error 'poem.json:4 (record 2): field "paragraphs" element 0 is number' --input "$T/poem.json" --field paragraphs
expect_error "$T/nope.txt: no such file" --input "$T/nope.txt"
expect_error "val-fraction" --input "$T/corpus/a.txt" --val-fraction 0.7
TOK="$T/nope.json" expect_error "$T/nope.json" --input "$T/corpus/a.txt"
printf '{"version": "1.0", "model": {"type": "BPE"' >"$T/cut.json"
TOK="$T/cut.json" expect_error "cut.json" --input "$T/corpus/a.txt"

# Interrupted runs (issue 11.4): Ctrl-C or kill -9 during a re-run leaves the earlier output whole;
# a fresh interrupted run leaves no --out (kill -9: at most the hidden staging directory, which the
# next run removes). A corpus big enough to still be tokenizing when the signal comes.
$PY - "$T/big.txt" <<'PY'
import random, sys
rng = random.Random(1)
words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))) for _ in range(3000)]
with open(sys.argv[1], "w") as f:
    for _ in range(60000):
        f.write(" ".join(rng.choice(words) for _ in range(rng.randint(20, 120))) + "\n\n")
PY
interrupt_run() {  # interrupt_run SIGNAL OUT: start a run into OUT, signal it once its staging directory exists
  local sig=$1 out=$2 staging
  staging="$(dirname "$2")/.$(basename "$2").partial"
  "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/big.txt" --out "$out" --threads 1 \
    --shard-tokens 100000 >/dev/null 2>"$T/int.log" &
  local pid=$!
  for _ in $(seq 1 600); do
    [ -n "$(ls -A "$staging" 2>/dev/null)" ] && break
    sleep 0.05
  done
  [ -d "$staging" ] || { wait $pid || true; fail "$sig: the run ended before it could be interrupted"; }
  kill -s "$sig" $pid
  set +e
  { wait $pid; } 2>/dev/null
  local rc=$?
  set -e
  [ "$rc" != 0 ] || fail "$sig: the run finished anyway (corpus too small?)"
}
cp -r "$T/out1.first" "$T/keep"
interrupt_run INT "$T/keep"
grep -q "interrupted: $T/keep is left as it was" "$T/int.log" || { cat "$T/int.log"; fail "SIGINT message"; }
diff -r "$T/out1.first" "$T/keep" >/dev/null || fail "SIGINT during a re-run changed the earlier output"
[ ! -e "$T/.keep.partial" ] || fail "SIGINT left the staging directory"
interrupt_run KILL "$T/keep"
diff -r "$T/out1.first" "$T/keep" >/dev/null || fail "kill -9 during a re-run changed the earlier output"
interrupt_run INT "$T/fresh"
[ ! -e "$T/fresh" ] && [ ! -e "$T/.fresh.partial" ] || fail "a fresh run stopped by SIGINT left files"
interrupt_run KILL "$T/fresh"
[ ! -e "$T/fresh" ] || fail "a fresh run killed with -9 left a half-built --out"
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus" --out "$T/fresh" "${FIELDS[@]}" \
  --val-fraction 0.1 --seed 3 --shard-tokens 1000 >/dev/null 2>&1 || fail "run after kill -9"
diff -r "$T/out1.first" "$T/fresh" >/dev/null || fail "run after kill -9 differs"
[ ! -e "$T/.fresh.partial" ] || fail "the next run did not remove the leftover staging directory"
# A directory with other files is not replaced.
mkdir -p "$T/mine" && echo keep >"$T/mine/notes.txt"
set +e
"$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$T/corpus/a.txt" --out "$T/mine" >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "holds notes.txt" "$T/err" && [ -f "$T/mine/notes.txt" ] || fail "a foreign --out directory"

# The real corpus: every file of $SHARED/data/pretrain (plain text, c4 JSONL, chinese-poetry JSON).
if [ -d "$SHARED/data/pretrain" ]; then
  "$BAIMO" data prepare --tokenizer "$T/tok.json" --input "$SHARED/data/pretrain" --out "$T/real" \
    --field text paragraphs content --threads 2 >/dev/null 2>"$T/log" || { cat "$T/log"; fail "shared corpus"; }
  $PY - "$SHARED/data/pretrain" "$T/real" "$T/log" <<'PY' || fail "shared corpus content"
import glob, json, os, re, sys
src, out, log = sys.argv[1:]
n = 0
for p in sorted(glob.glob(os.path.join(src, "**", "*"), recursive=True)):
    if p.endswith(".jsonl"):
        n += sum(1 for l in open(p) if l.strip() and json.loads(l)["text"])
    elif p.endswith(".json"):
        n += sum(1 for r in json.load(open(p)) if (r.get("paragraphs") or r.get("content")))
    elif p.endswith(".txt"):
        lines = [l.strip(" \t\r\f\v") != "" for l in open(p, newline="").read().split("\n")]
        n += sum(1 for i, x in enumerate(lines) if x and (i == 0 or not lines[i - 1]))
ix = json.load(open(os.path.join(out, "index.json")))
docs = sum(s["documents"] for s in ix["splits"].values())
assert docs == n, (docs, n)
assert ix["splits"]["val"]["documents"] >= 1
m = re.search(r"prepared (\d+) documents from (\d+) files", open(log).read())
assert m and int(m.group(1)) == n and int(m.group(2)) == 27, m and m.groups()
PY
fi
echo "ok"
