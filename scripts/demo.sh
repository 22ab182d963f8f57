#!/usr/bin/env bash
# baimo's main job on built-in defaults: set up, build the program (not the tests), then run the whole
# recipe (`baimo recipe`): a tokenizer and a tiny model trained on the repository's own English and
# Chinese documents, instruction tuning, a reward model, DPO and GRPO on a generated arithmetic task,
# distillation, quantization, evaluation after every stage and the served model answering over the
# OpenAI API; about 6 minutes on 2 cores. It ends with the report card's summary and the served
# model's answers (the whole card: runs/recipe/report.md). Run it again after an interruption: it
# picks up where it stopped. Extra arguments go to `baimo recipe` (e.g. --out DIR, --config FILE,
# --corpus my.txt, --skip distill).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target baimo -j "$(nproc)"
exec ./build/baimo recipe "$@"  # --out defaults to runs/recipe
