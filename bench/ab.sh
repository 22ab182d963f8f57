#!/usr/bin/env bash
# bench/ab.sh OLD_DIR NEW_DIR [ROUNDS]: the before/after check of a change that must not slow
# anything down. Runs bench/generate, bench/train_step, bench/pretrain and bench/serve in --quick
# mode on two builds alternately (old, new, old, new, ...), in the same window on the same machine.
# OLD_DIR / NEW_DIR hold each build's `baimo` and `bench_*` programs (copy them out of build/ before
# switching commits). Quick modes are single repetitions: compare the pairs, not one number.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_DIR NEW_DIR [ROUNDS]" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2") rounds=${3:-2}
cd "$(dirname "$0")/.."
export BAIMO_SHARED=${BAIMO_SHARED:-$(realpath -m ../shared)} OMP_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX
for ((r = 1; r <= rounds; ++r)); do
  for side in "$old" "$new"; do
    echo "=== round $r $side"
    "$side/bench_generate" --quick | grep -E 'decode_b|prefill128|^ratio'
    python3 bench/train_step/run --quick --build "$side" | grep -E 'tokens_per_s|^ratio'
    python3 bench/pretrain/run --quick --build "$side" | grep -E 'tokens_per_s|loss_step|^ratio'
    BAIMO_BUILD="$side" bash bench/serve/run --quick | grep -E 'tokens_per_s|^ratio'
  done
done
