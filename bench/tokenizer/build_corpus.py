#!/usr/bin/python3
"""Builds the benchmark text: a mixed Chinese/English plain-text file of at least --mb MB from
$BAIMO_SHARED/data, interleaving documents round-robin from each source so that every stretch of
the file mixes the languages. Sources: tinyshakespeare (paragraphs), wiki_demo (lines), c4_demo
(field text), chinese-poetry (宋词, 论语, 诗经 paragraphs), alpaca zh/en (instruction, input,
output), dpo zh/en (conversations, chosen, rejected). When every source is used up before the
size is reached, the round-robin starts again (later copies repeat earlier text).
Usage: build_corpus.py OUT --mb 10"""
import argparse, glob, json, os, sys


def sources(shared):
    d = os.path.join(shared, "data")
    out = []
    text = open(os.path.join(d, "pretrain/tinyshakespeare.txt"), encoding="utf-8").read()
    out.append([p for p in text.split("\n\n") if p.strip()])
    out.append([l for l in open(os.path.join(d, "pretrain/wiki_demo.txt"), encoding="utf-8").read().split("\n") if l.strip()])
    out.append([json.loads(l)["text"] for l in open(os.path.join(d, "pretrain/c4_demo.jsonl"), encoding="utf-8") if l.strip()])
    poems = []
    for f in sorted(glob.glob(os.path.join(d, "pretrain/chinese-poetry/宋词/ci.song.*.json")),
                    key=lambda p: int(p.split(".")[-2])):
        for x in json.load(open(f, encoding="utf-8")):
            poems.append(x.get("rhythmic", "") + "\n" + "\n".join(x["paragraphs"]))
    out.append(poems)
    classics = []
    for f in sorted(glob.glob(os.path.join(d, "pretrain/chinese-poetry/论语/*.json")) +
                    glob.glob(os.path.join(d, "pretrain/chinese-poetry/诗经/*.json"))):
        for x in json.load(open(f, encoding="utf-8")):
            lines = x.get("paragraphs", x.get("content", []))
            classics.append("\n".join([x.get("title", x.get("chapter", ""))] + lines))
    out.append(classics)
    for lang in ("zh", "en"):
        out.append(["\n".join(s for s in (x["instruction"], x["input"], x["output"]) if s)
                    for x in json.load(open(os.path.join(d, f"sft/alpaca_{lang}_demo.json"), encoding="utf-8"))])
        docs = []
        for x in json.load(open(os.path.join(d, f"prefs/dpo_{lang}_demo.json"), encoding="utf-8")):
            turns = [c["value"] for c in x["conversations"]] + [x["chosen"]["value"], x["rejected"]["value"]]
            docs.append("\n".join(turns))
        out.append(docs)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=10.0)
    a = ap.parse_args()
    shared = os.environ.get("BAIMO_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
    srcs = sources(shared)
    want = int(a.mb * 1e6)
    written = 0
    passes = 0
    with open(a.out, "w", encoding="utf-8") as f:
        while written < want:
            pos = [0] * len(srcs)
            passes += 1
            while written < want and any(pos[i] < len(s) for i, s in enumerate(srcs)):
                for i, s in enumerate(srcs):
                    if pos[i] < len(s) and written < want:
                        doc = s[pos[i]].strip() + "\n\n"
                        pos[i] += 1
                        f.write(doc)
                        written += len(doc.encode("utf-8"))
    print(f"corpus {a.out} {written} bytes, {passes} pass(es) over the sources", file=sys.stderr)


if __name__ == "__main__":
    main()
