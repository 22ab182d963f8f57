// llama.cpp's multiple-choice log-likelihoods for tests/e2e/test_eval_llamacpp.sh.
//   node mc_logprobs.mjs FILE.gguf SAMPLES.jsonl
// SAMPLES.jsonl: one JSON object a line, either {context_ids: [...], continuation_ids: [...]} or a
// `baimo eval run --log-samples` multiple-choice record {context_ids: [...], choice_ids: [[...], ...]}
// (other fields ignored). Token ids are the GGUF's own; nothing is tokenized here and no BOS is
// added (context_ids already holds it when the model uses one).
// Prints one JSON line per input line: {"loglik": S} for a continuation, {"loglik": [S0, S1, ...]}
// for choices, S = sum over the continuation tokens t_i of log softmax(logits before t_i)[t_i]
// (teacher forcing over context + continuation[:-1]; the context's first tokens are evaluated once
// per line, and each continuation runs as [last context token, continuation[:-1]] after them and is
// erased from the sequence again).
// The logits are llama.cpp's raw ones (node-llama-cpp's controlledEvaluate, generateNext.logits:
// true, unfiltered: every vocabulary entry, checked); the log-softmax is taken here in float64. The
// sampler chain those logits pass through is the greedy one (temperature 0, node-llama-cpp's
// default, set explicitly), which only selects a token: no top-k / top-p / min-p, repeat or DRY
// penalty, token bias or grammar touches them (AddonSampler::rebuildChainIfNeeded adds the others
// only when configured).
// The context keeps its KV cache in f32 (llama.cpp's default is f16, which alone moves a choice's
// log-likelihood by up to ~4e-3 on the 10M test model; set BAIMO_LLAMA_KV=F16 to see it) and
// runs without flash attention, so that only the weights' own format differs from baimo's
// engine. One thread: llama.cpp's spinning thread pool is ~50x slower on a loaded 2-core machine.
import fs from "node:fs";
import {getLlama} from "node-llama-cpp";

const [file, samples] = process.argv.slice(2);
if (!file || !samples) {
  console.error("usage: node mc_logprobs.mjs FILE.gguf SAMPLES.jsonl");
  process.exit(2);
}
const recs = fs.readFileSync(samples, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
let longest = 8;
for (const r of recs) {
  for (const c of r.choice_ids ?? [r.continuation_ids]) longest = Math.max(longest, r.context_ids.length + c.length);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: file});
const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
if (!nVocab) throw new Error("the GGUF metadata lists no tokenizer.ggml.tokens: cannot check the logits are complete");
const size = Math.max(64, longest);
const kv = process.env.BAIMO_LLAMA_KV ?? "F32";
const ctx = await model.createContext({
  contextSize: size, batchSize: size, threads: 1, flashAttention: false,
  experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv,
});
const seq = ctx.getSequence();
const next = {logits: true, options: {temperature: 0}};

async function prefill(context) {
  if (!context.length) throw new Error("empty context");
  await seq.clearHistory();
  if (context.length > 1) await seq.controlledEvaluate(context.slice(0, -1));
}

// After prefill(context): sum of log p(cont[k] | context, cont[:k]).
async function loglik(context, cont) {
  if (!cont.length) throw new Error("empty continuation");
  const base = context.length - 1;
  if (seq.nextTokenIndex !== base) throw new Error(`sequence at ${seq.nextTokenIndex}, expected ${base}`);
  const toks = [context[base], ...cont.slice(0, -1)];
  const out = await seq.controlledEvaluate(toks.map((t) => [t, {generateNext: next}]));
  let s = 0;
  for (let k = 0; k < cont.length; ++k) {
    const logits = out[k]?.next?.logits;
    if (!logits) throw new Error(`no logits at position ${base + k}`);
    if (logits.size !== nVocab) throw new Error(`logits for ${logits.size} tokens, vocabulary ${nVocab}`);
    let mx = -Infinity;
    for (const v of logits.values()) if (v > mx) mx = v;
    let z = 0;
    for (const v of logits.values()) z += Math.exp(v - mx);
    const x = logits.get(cont[k]);
    if (x === undefined) throw new Error(`token ${cont[k]} missing from the logits`);
    s += x - mx - Math.log(z);
  }
  await seq.eraseContextTokenRanges([{start: base, end: seq.nextTokenIndex}]);
  return s;
}

for (const r of recs) {
  await prefill(r.context_ids);
  if (r.choice_ids) {
    const ll = [];
    for (const c of r.choice_ids) ll.push(await loglik(r.context_ids, c));
    console.log(JSON.stringify({loglik: ll}));
  } else {
    console.log(JSON.stringify({loglik: await loglik(r.context_ids, r.continuation_ids)}));
  }
}
await ctx.dispose();
await model.dispose();
await llama.dispose();
