#!/usr/bin/env bash
# baimo's main job on built-in defaults: set up, build, then train a tokenizer and a tiny
# Llama-style model on the repository's own bilingual documents for a minute, printing the loss
# as it falls and a sample at the end. Extra arguments go to `baimo demo` (e.g. --input FILE,
# --seconds 120, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
exec ./build/baimo demo "$@"
