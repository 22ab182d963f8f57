#!/usr/bin/env python3
"""On-policy preference pairs from `baimo eval run --samples K --log-samples SAMPLES` over the training
problems: for each problem with a wrong sampled answer that ended its turn, chosen = the reference
answer, rejected = the most frequent such wrong answer (ties: the first seen). Also prints the samples'
accuracy and pass@K on the training problems.
Usage: onpolicy_pairs.py SAMPLES SFT_TRAIN PAIRS_OUT SFT_OUT
  SFT_TRAIN: the `baimo data arithmetic` sft_train.jsonl the problems came from (same order);
  SFT_OUT: the pairs' chosen answers as SFT conversations (the control: the same answers, no rejected)."""
import collections
import json
import sys

samples, sft_train, pairs_out, sft_out = sys.argv[1:5]
conversations = [json.loads(line)["messages"] for line in open(sft_train, encoding="utf-8") if line.strip()]
problems = correct = solved = 0
with open(pairs_out, "w", encoding="utf-8") as pairs, open(sft_out, "w", encoding="utf-8") as sft:
    for line in open(samples, encoding="utf-8"):
        r = json.loads(line)
        messages = conversations[r["index"]]
        if messages[-1]["content"] != r["answer"]:
            sys.exit(f"{samples}: example {r['index']} answers {r['answer']!r}, {sft_train} has {messages[-1]['content']!r}")
        problems += 1
        ok = [s["correct"] for s in r["samples"]]
        correct += sum(ok) / len(ok)
        solved += any(ok)
        wrong = collections.Counter(s["text"].strip() for s in r["samples"]
                                    if not s["correct"] and s["end_of_turn"] and s["text"].strip())
        if not wrong:
            continue
        prompt = messages[:-1]
        pairs.write(json.dumps({"prompt": prompt, "chosen": r["answer"], "rejected": wrong.most_common(1)[0][0]},
                               ensure_ascii=False) + "\n")
        sft.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
k = len(r["samples"]) if problems else 0
print(f"train_sample_accuracy {correct / max(1, problems):.4f} pass@{k} {solved / max(1, problems):.4f} "
      f"onpolicy_pairs {problems and sum(1 for _ in open(pairs_out, encoding='utf-8'))}")
