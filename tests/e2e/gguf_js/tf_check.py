"""Helpers for tests/e2e/test_gguf_conformance.sh.
  tf_check.py batch IDS_JSON OUT.safetensors T
      A training batch (input_ids, targets) of rows of T+1 consecutive ids from IDS_JSON.
  tf_check.py prompt-batch PROMPT,IDS GREEDY_JSON OUT.safetensors
      One row: prompt + greedy[:-1] (targets -100), for teacher-forced checking.
  tf_check.py argmax OUTPUTS.safetensors PROMPT_LEN GREEDY_JSON
      Checks that baimo's logits (train-step --dump-dir) have argmax = greedy[i] at position
      PROMPT_LEN - 1 + i for every i (the greedy continuation llama.cpp produced), and prints the
      smallest top-1 margin. Exit 1 on a mismatch."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
import safetensors_io  # noqa: E402

cmd = sys.argv[1]
if cmd == "batch":
    ids = json.load(open(sys.argv[2]))
    t = int(sys.argv[4])
    rows = [ids[i:i + t + 1] for i in range(0, len(ids) - t - 1, t)][:8]
    a = np.array(rows, dtype=np.int32)
    safetensors_io.write(sys.argv[3], {"input_ids": a[:, :-1].copy(), "targets": a[:, 1:].astype(np.int32).copy()})
elif cmd == "prompt-batch":
    prompt = [int(x) for x in sys.argv[2].split(",")]
    greedy = json.loads(sys.argv[3])
    seq = np.array([prompt + greedy[:-1]], dtype=np.int32)
    safetensors_io.write(sys.argv[4], {"input_ids": seq, "targets": np.full_like(seq, -100)})
elif cmd == "argmax":
    logits = safetensors_io.read(sys.argv[2])["logits"][0]
    p = int(sys.argv[3])
    greedy = json.loads(sys.argv[4])
    margin = 1e9
    for i, g in enumerate(greedy):
        row = logits[p - 1 + i]
        top = int(np.argmax(row))
        srt = np.sort(row)
        margin = min(margin, float(srt[-1] - srt[-2]))
        if top != g:
            sys.exit(f"position {i}: llama.cpp chose {g}, baimo's argmax is {top} "
                     f"(logit {row[top]:.4f} vs {row[g]:.4f})")
    print(f"greedy tokens agree ({len(greedy)}), smallest top-1 margin {margin:.3f}")
else:
    sys.exit("usage: tf_check.py batch|prompt-batch|argmax ...")
