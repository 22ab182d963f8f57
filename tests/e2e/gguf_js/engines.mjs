// Independent GGUF engines for tests/e2e/test_gguf_conformance.sh.
//   node engines.mjs inspect FILE.gguf
//       @huggingface/gguf's view of the file as JSON: {metadata (without the token arrays),
//       n_tokens, n_merges, tensors: [{name, type, shape}]}.
//   node engines.mjs same-tensors A.gguf B.gguf
//       Compares every tensor of A with the one of the same name in B (ggml type, shape and the
//       data bytes, located with @huggingface/gguf's offsets); prints "same N" or the differences
//       and exits 1.
//   node engines.mjs greedy FILE.gguf ID,ID,... N [LORA.gguf]
//       Loads FILE with llama.cpp (node-llama-cpp's prebuilt CPU binaries, 2 threads), evaluates
//       the prompt token ids and prints the N greedily generated ids as a JSON array. With LORA, the
//       context applies that GGUF LoRA adapter at scale 1 (createContext's `lora` option).
import fs from "node:fs";
import {gguf} from "@huggingface/gguf";

const [cmd, ...args] = process.argv.slice(2);

// Bytes per block and elements per block of the ggml types baimo writes.
const TYPE_SIZE = {0: [4, 1], 1: [2, 1], 2: [18, 32], 8: [34, 32], 12: [144, 256], 14: [210, 256], 30: [2, 1]};

async function parse(file) {
  return gguf(file, {allowLocalFile: true});
}

if (cmd === "inspect") {
  const {metadata, tensorInfos} = await parse(args[0]);
  const meta = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (Array.isArray(v)) continue;
    meta[k] = typeof v === "bigint" ? Number(v) : v;
  }
  const out = {
    metadata: meta,
    n_tokens: (metadata["tokenizer.ggml.tokens"] || []).length,
    n_merges: (metadata["tokenizer.ggml.merges"] || []).length,
    tensors: tensorInfos.map((t) => ({name: t.name, type: t.dtype, shape: t.shape.map(Number)})),
  };
  console.log(JSON.stringify(out));
} else if (cmd === "same-tensors") {
  const [a, b] = await Promise.all([parse(args[0]), parse(args[1])]);
  const fa = fs.readFileSync(args[0]), fb = fs.readFileSync(args[1]);
  const byName = new Map(b.tensorInfos.map((t) => [t.name, t]));
  const bytesOf = (t) => {
    const [bb, be] = TYPE_SIZE[t.dtype] ?? [0, 1];
    if (!bb) throw new Error(`tensor ${t.name}: ggml type ${t.dtype} not handled`);
    return (t.shape.reduce((x, y) => x * Number(y), 1) / be) * bb;
  };
  const diffs = [];
  for (const t of a.tensorInfos) {
    const u = byName.get(t.name);
    if (!u) { diffs.push(`${t.name}: missing in B`); continue; }
    if (u.dtype !== t.dtype) { diffs.push(`${t.name}: type ${t.dtype} vs ${u.dtype}`); continue; }
    if (u.shape.join() !== t.shape.join()) { diffs.push(`${t.name}: shape ${t.shape} vs ${u.shape}`); continue; }
    const n = bytesOf(t);
    const sa = Number(a.tensorDataOffset + t.offset), sb = Number(b.tensorDataOffset + u.offset);
    if (Buffer.compare(fa.subarray(sa, sa + n), fb.subarray(sb, sb + n)) !== 0) diffs.push(`${t.name}: data differs`);
  }
  if (a.tensorInfos.length !== b.tensorInfos.length) diffs.push(`tensor count ${a.tensorInfos.length} vs ${b.tensorInfos.length}`);
  if (diffs.length) { console.log(diffs.join("\n")); process.exit(1); }
  console.log(`same ${a.tensorInfos.length}`);
} else if (cmd === "greedy") {
  const {getLlama} = await import("node-llama-cpp");
  const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
  const model = await llama.loadModel({modelPath: args[0]});
  const lora = args[3] ? {adapters: [{filePath: args[3], scale: 1}]} : undefined;
  const ctx = await model.createContext({contextSize: 256, threads: 2, batchSize: 256, lora});
  const seq = ctx.getSequence();
  const prompt = args[1].split(",").map(Number);
  const n = Number(args[2]);
  const out = [];
  if (n > 0) {
    for await (const t of seq.evaluate(prompt, {temperature: 0})) {
      out.push(t);
      if (out.length >= n) break;
    }
  }
  console.log(JSON.stringify(out));
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
} else {
  console.error("usage: node engines.mjs inspect FILE | same-tensors A B | greedy FILE IDS N [LORA]");
  process.exit(2);
}
