#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, release build + all tests (unit, PyTorch reference,
# end-to-end), unit tests again under ASan+UBSan, each libFuzzer target for a short run, and every
# benchmark in --quick mode so that they keep working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JOBS=${JOBS:-$(nproc)}
# -DBAIMO_UNITY=ON below: the three builds compile the sources in unity batches (see CMakeLists.txt),
# which on a fresh clone without a compiler cache costs a fraction of the per-file build.
export BAIMO_SHARED=${BAIMO_SHARED:-$(realpath -m ../shared)}
step() { printf '\n=== %s ===\n' "$*"; }

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBAIMO_UNITY=ON >/dev/null
cmake --build build -j "$JOBS"

step "tests (unit, reference, e2e)"
# Tests run side by side (-j): OpenMP threads that sleep instead of spinning while they wait
# keep two test processes from starving each other on a small machine.
OMP_WAIT_POLICY=PASSIVE ctest --test-dir build --output-on-failure -j "$JOBS"

step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBAIMO_SANITIZE=ON -DBAIMO_BENCH=OFF -DBAIMO_UNITY=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target baimo_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \
  ./build-asan/baimo_tests --gtest_brief=1

step "fuzz targets (libFuzzer, ${FUZZ_SECONDS:=20}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBAIMO_FUZZ=ON -DBAIMO_UNITY=ON >/dev/null
cmake --build build-fuzz -j "$JOBS" --target baimo_fuzz
shopt -s nullglob
for f in build-fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus=tests/fuzz/corpus/${name#fuzz_}
  mkdir -p "/tmp/baimo-fuzz/$name"
  echo "fuzz: $name"
  # The whole log is kept; on a crash its reason and stack are printed before the script stops.
  if ! "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -print_final_stats=0 -artifact_prefix="/tmp/baimo-fuzz/$name-" \
      "/tmp/baimo-fuzz/$name" \
      $( [ -d "$corpus" ] && echo "$corpus" ) >"/tmp/baimo-fuzz/$name.log" 2>&1; then
    grep -v '^#[0-9]' "/tmp/baimo-fuzz/$name.log" | tail -n 60
    echo "fuzz: $name failed; the input that crashed it is /tmp/baimo-fuzz/$name-crash-*"
    exit 1
  fi
  tail -n 1 "/tmp/baimo-fuzz/$name.log"
done

step "benchmarks (--quick)"
for b in bench/*/run; do
  echo "bench: $b --quick"
  "$b" --quick
done
# Reaching this line means every step above passed (set -e): one closing line with the count.
tests=$(( $(ctest --test-dir build -N | awk '/Total Tests:/ {print $3}') + \
          $(./build-asan/baimo_tests --gtest_list_tests | grep -c '^  ') ))
echo
echo "summary: $tests passed, 0 failed"
