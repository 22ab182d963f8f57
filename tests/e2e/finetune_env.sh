# Sourced by the fine-tuning e2e tests (sft, dpo, rm train) after `set -euo pipefail`: SHARED and BASE
# (../shared's base model; the test is skipped when it is missing), a temporary directory T removed on
# exit (with the process in PID, if any, killed), fail MESSAGE, kill_resume_matches (kill_resume.sh),
# losses OUT (each step's loss from OUT/metrics.jsonl), 2 threads.
SHARED=${BAIMO_SHARED:-$(realpath -m "$(dirname "${BASH_SOURCE[0]}")/../../../shared")}
BASE="$SHARED/models/base-small-zh-en"
[ -d "$BASE" ] || { echo "SKIP: $BASE not found"; exit 0; }
T=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/kill_resume.sh"
export OMP_NUM_THREADS=2
losses() { grep -v '"event"' "$1/metrics.jsonl" | grep -o '"step": [0-9]*, "loss": [^,]*'; }
