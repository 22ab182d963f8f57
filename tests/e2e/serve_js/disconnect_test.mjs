// Non-streaming clients that hang up mid-generation, against a running `baimo serve` (one slot,
// a model for which an answer of MAX_TOKENS tokens takes seconds): for /v1/completions and
// /v1/chat/completions the slot must be free again (/health active_slots 0) within a second of the
// hang-up and baimo_client_disconnects_total must rise by one; the server then still answers.
// Also: a text prompt's usage.prompt_tokens counts the BOS of an add_bos model (EXPECTED_PROMPT_TOKENS).
// Usage: node disconnect_test.mjs BASE_URL MODEL_ID BANNED_IDS(comma-separated) EXPECTED_PROMPT_TOKENS
import assert from "node:assert/strict";
import http from "node:http";

const [base, model, banned, expectedPromptTokens] = process.argv.slice(2);
const MAX_TOKENS = 4000;
const logit_bias = Object.fromEntries(banned.split(",").filter(Boolean).map((id) => [id, -100]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const health = async () => (await fetch(base + "/health")).json();
async function metric(name) {
  const text = await (await fetch(base + "/metrics")).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, "m"));
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
}
async function post(path, body) {
  const r = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}
async function waitFor(what, cond, ms) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

// BOS: the prompt tokens of a text prompt include the BOS the model's tokenizer adds.
const bos = await post("/v1/completions", { model, prompt: "A language model", max_tokens: 1 });
assert.equal(bos.usage.prompt_tokens, Number(expectedPromptTokens), "prompt tokens (BOS prepended once)");
console.log(`ok completion prompt_tokens ${bos.usage.prompt_tokens} (BOS included)`);

// Hang-ups come 300 ms into answers of MAX_TOKENS tokens (special tokens banned, so none ends
// early). Without the socket check the gone client's request would run to MAX_TOKENS: the slot
// would stay busy and every token would be counted, which the checks below catch at any speed.
for (const [path, body] of [
  ["/v1/completions", { model, prompt: "Once upon a time", max_tokens: MAX_TOKENS, logit_bias }],
  ["/v1/chat/completions", { model, messages: [{ role: "user", content: "Tell a long story" }], max_tokens: MAX_TOKENS, logit_bias }],
]) {
  const before = await metric("baimo_client_disconnects_total");
  const tokensBefore = await metric("baimo_completion_tokens_total");
  const req = http.request(base + path, { method: "POST", headers: { "content-type": "application/json" } });
  let answered = false;
  req.on("response", () => (answered = true));
  req.on("error", () => {}); // the hang-up below
  req.end(JSON.stringify(body));
  await waitFor("the request to take its slot", async () => (await health()).active_slots === 1, 5000);
  await sleep(300);
  assert.equal((await health()).active_slots, 1, "the request ended before the hang-up");
  req.destroy(); // the client goes away without reading an answer
  const freedMs = await waitFor("the slot to be freed", async () => (await health()).active_slots === 0, 3000);
  assert.ok(!answered, "an answer arrived before the hang-up");
  assert.ok(freedMs < 1000, `the slot was freed ${freedMs} ms after the hang-up (want < 1000 ms)`);
  assert.equal(await metric("baimo_client_disconnects_total"), before + 1, "disconnect counter");
  const generated = (await metric("baimo_completion_tokens_total")) - tokensBefore;
  assert.ok(generated < MAX_TOKENS / 2, `${generated} tokens generated for the gone client (the request was not cancelled)`);
  console.log(`ok ${path}: slot freed ${freedMs} ms after the hang-up, ${generated} tokens generated`);
}

// The server goes on answering.
const after = await post("/v1/chat/completions", { model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4 });
assert.equal(after.choices[0].finish_reason, "length");
assert.equal((await health()).active_slots, 0);
console.log("ok the server answers after the hang-ups");
