#!/usr/bin/env bash
# train/distributed.h over real OpenMPI processes: runs the Distributed.* unit tests (baimo_tests,
# beside the baimo binary) under `mpirun -np 2` on loopback; every rank checks the collectives.
# Usage: bash test_distributed_mpi.sh path/to/baimo
set -euo pipefail
BAIMO=$(realpath "$1")
TESTS=$(dirname "$BAIMO")/baimo_tests
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$TESTS" ] || fail "$TESTS not built"
source "$(dirname "$0")/mpi_env.sh"
out=$(timeout 120 mpirun "${MPIRUN_ARGS[@]}" -np 2 "$TESTS" --gtest_filter='Distributed.*' --gtest_color=no 2>&1) || { echo "$out"; fail "mpirun"; }
[ "$(grep -c '\[  PASSED  \] 2 tests' <<<"$out")" = 2 ] || { echo "$out"; fail "not both ranks passed both tests"; }
echo "ok"
