#!/usr/bin/python3
"""sentencepiece anchor for bench/tokenizer (Debian's python3-sentencepiece).
  spm_anchor.py train --input TEXT --vocab-size N --threads T --prefix P
      trains a BPE model on TEXT (byte fallback on, every character kept) and prints
      `seconds S` (the train call only).
  spm_anchor.py encode --model P.model --input TEXT --threads T
      encodes TEXT line by line (sentencepiece's unit; num_threads=T) and prints
      `mbps X tokens N` (the encode call only; the file is read before the clock starts)."""
import argparse, sys, time
import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "encode"])
    ap.add_argument("--input", required=True)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prefix")
    ap.add_argument("--model")
    a = ap.parse_args()
    if a.mode == "train":
        t0 = time.perf_counter()
        spm.SentencePieceTrainer.train(
            input=a.input, model_prefix=a.prefix, vocab_size=a.vocab_size, model_type="bpe",
            num_threads=a.threads, byte_fallback=True, character_coverage=1.0,
            max_sentence_length=1 << 16, input_sentence_size=0, train_extremely_large_corpus=False,
            minloglevel=2)
        print(f"seconds {time.perf_counter() - t0:.4f}")
        return
    sp = spm.SentencePieceProcessor(model_file=a.model)
    data = open(a.input, "rb").read()
    lines = data.decode("utf-8").split("\n")
    t0 = time.perf_counter()
    ids = sp.encode(lines, num_threads=a.threads)
    dt = time.perf_counter() - t0
    print(f"mbps {len(data) / dt / 1e6:.4f} tokens {sum(len(x) for x in ids)}")


if __name__ == "__main__":
    sys.exit(main())
