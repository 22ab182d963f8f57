#!/usr/bin/env bash
# baimo plot end to end: a metrics.jsonl in the trainer's format -> an SVG that Python's XML parser
# reads, with the train and validation curves (one point per step / eval), axes, ticks and a legend;
# --out and --log; bad lines named by file:line with nothing written.
# Usage: bash test_plot.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

mkdir -p "$T/run"
$PY - "$T/run/metrics.jsonl" <<'PY'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for s in range(1, 201):
        m = {"step": s, "loss": 6 * math.exp(-s / 60) + 2 + 0.1 * math.sin(s), "lr": 1e-3, "grad_norm": 1.0,
             "tokens_per_s": 1000.0, "elapsed_s": s * 0.1}
        if s % 25 == 0:
            m["val_loss"] = 6 * math.exp(-s / 60) + 2.2
            m["val_ppl"] = math.exp(m["val_loss"])
        f.write(json.dumps(m) + "\n")
PY
[ "$("$BAIMO" plot "$T/run")" = "$T/run/loss.svg" ] || fail "default output path"
"$BAIMO" plot "$T/run" --out "$T/log.svg" --log >/dev/null || fail "--log"

check_svg() {  # check_svg FILE
  $PY - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
lines = {p.get("class"): p.get("points").split() for p in root.iter("{http://www.w3.org/2000/svg}polyline")}
assert len(lines["train"]) == 200, len(lines["train"])
assert len(lines["val"]) == 8, len(lines["val"])
assert "train-avg" in lines
# The train curve falls: later points are lower on the page (larger y).
ys = [float(p.split(",")[1]) for p in lines["train"]]
assert sum(ys[-20:]) / 20 > sum(ys[:20]) / 20 + 50, (ys[:3], ys[-3:])
xs = [float(p.split(",")[0]) for p in lines["train"]]
assert xs == sorted(xs)
texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
assert "step" in texts and any(t.startswith("loss") for t in texts), texts
assert any("validation loss" in t for t in texts) and any("train loss" in t for t in texts), texts
assert "200" in texts and "100" in texts, texts  # x ticks
assert len([t for t in texts if t.replace(".", "").isdigit()]) >= 8, texts
PY
}
check_svg "$T/run/loss.svg" || fail "loss.svg"
check_svg "$T/log.svg" || fail "log.svg"
grep -q "log scale" "$T/log.svg" || fail "--log axis title"

# Bad input: exit 1, the line named, no SVG.
expect_error() {  # expect_error NEEDLE METRICS_CONTENT
  mkdir -p "$T/bad"
  printf '%b' "$2" >"$T/bad/metrics.jsonl"
  set +e
  "$BAIMO" plot "$T/bad" >/dev/null 2>"$T/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || fail "exit $rc for '$2'"
  grep -qF -- "$1" "$T/err" || { cat "$T/err"; fail "message lacks '$1'"; }
  [ ! -e "$T/bad/loss.svg" ] || fail "SVG written for bad input"
}
expect_error "metrics.jsonl:3: invalid JSON" '{"step": 1, "loss": 2}\n{"step": 2, "loss": 1.5}\n{"step": 3, "loss": nan}\n'
expect_error 'metrics.jsonl:2: field "step" is missing' '{"step": 1, "loss": 2}\n{"loss": 1.5}\n'
expect_error 'no "loss" or "val_loss" values' '{"step": 1}\n'
set +e
"$BAIMO" plot "$T/nowhere" >/dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "nowhere" "$T/err" || fail "missing run directory"
echo "ok"
