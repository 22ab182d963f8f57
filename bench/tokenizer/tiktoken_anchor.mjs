// js-tiktoken anchor for bench/tokenizer: encodes a text file with a .tiktoken rank file (the same
// file baimo loads) and prints `mbps X tokens N` (encode time only; loading is excluded).
// Usage: node tiktoken_anchor.mjs --ranks cl100k_base.tiktoken --meta encodings_meta.json
//          --encoding cl100k_base --input TEXT [--threads N]
// With N > 1 the text is cut after '\n' into N parts encoded by N worker threads (each with its
// own Tiktoken), timed from the start signal until the last part is done.
import { readFileSync } from "node:fs";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { Tiktoken } from "js-tiktoken/lite";

function makeEncoder(ranksPath, metaPath, encoding) {
  const meta = JSON.parse(readFileSync(metaPath, "utf8"))[encoding];
  // js-tiktoken's rank format: lines "<anything> <first rank> <base64 token>..."; one token a line.
  const lines = readFileSync(ranksPath, "utf8").split("\n").filter(Boolean).map((l) => {
    const [tok, rank] = l.split(" ");
    return `! ${rank} ${tok}`;
  });
  return new Tiktoken({ pat_str: meta.pat_str, special_tokens: meta.special_tokens, bpe_ranks: lines.join("\n") });
}

function cutParts(text, n) {
  const parts = [];
  let start = 0;
  for (let k = 1; k < n; ++k) {
    let at = Math.floor((text.length * k) / n);
    const nl = text.indexOf("\n", Math.max(at, start));
    at = nl < 0 ? text.length : nl + 1;
    parts.push(text.slice(start, at));
    start = at;
  }
  parts.push(text.slice(start));
  return parts;
}

if (isMainThread) {
  const args = Object.fromEntries(process.argv.slice(2).reduce((acc, v, i, a) => (v.startsWith("--") ? [...acc, [v.slice(2), a[i + 1]]] : acc), []));
  const threads = Number(args.threads ?? 1);
  const buf = readFileSync(args.input);
  const text = buf.toString("utf8");
  if (threads <= 1) {
    const enc = makeEncoder(args.ranks, args.meta, args.encoding);
    const t0 = process.hrtime.bigint();
    const ids = enc.encode(text, [], []);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`mbps ${(buf.length / dt / 1e6).toFixed(4)} tokens ${ids.length}`);
  } else {
    const parts = cutParts(text, threads);
    let ready = 0, done = 0, tokens = 0, t0 = 0n;
    const workers = parts.map((part) => new Worker(new URL(import.meta.url), { workerData: { ...args, part } }));
    for (const w of workers) {
      w.on("message", (m) => {
        if (m.ready && ++ready === workers.length) {
          t0 = process.hrtime.bigint();
          for (const x of workers) x.postMessage("go");
        } else if (m.tokens !== undefined) {
          tokens += m.tokens;
          if (++done === workers.length) {
            const dt = Number(process.hrtime.bigint() - t0) / 1e9;
            console.log(`mbps ${(buf.length / dt / 1e6).toFixed(4)} tokens ${tokens}`);
            for (const x of workers) x.terminate();
          }
        }
      });
    }
  }
} else {
  const enc = makeEncoder(workerData.ranks, workerData.meta, workerData.encoding);
  parentPort.on("message", () => parentPort.postMessage({ tokens: enc.encode(workerData.part, [], []).length }));
  parentPort.postMessage({ ready: true });
}
