// The official `openai` npm client against a running `baimo serve`:
// models, chat and text completions (whole and streamed), max_tokens, stop sequences, usage,
// log-probs, n, seeds, greedy output alone == in a batch, errors 400/401/404/413/429, /health,
// /metrics. Usage: node openai_client_test.mjs BASE_URL API_KEY MODEL_ID
import assert from "node:assert/strict";
import OpenAI from "openai";

const [base, key, modelId] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: 60_000 });
const model = modelId;
let passed = 0;
async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}:`, e);
    process.exit(1);
  }
  passed++;
  console.log(`ok ${name} (${Date.now() - t0} ms)`);
}
async function expectApiError(promise, status, check) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status, `status ${e.status}: ${e.message}`);
    assert.equal(typeof e.error.message, "string");
    assert.ok("type" in e.error && "param" in e.error && "code" in e.error, JSON.stringify(e.error));
    if (check) check(e);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}
const user = (content) => [{ role: "user", content }];
async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

await test("models.list names the served model", async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model]);
  const m = await client.models.retrieve(model);
  assert.equal(m.id, model);
});

let greedy = ""; // greedy answer to "Hello", 24 tokens
await test("chat completion: greedy, max_tokens, usage", async () => {
  const r = await client.chat.completions.create({ model, messages: user("Hello"), temperature: 0, max_tokens: 24 });
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, model);
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.equal(typeof c.message.content, "string");
  assert.ok(["stop", "length"].includes(c.finish_reason));
  assert.ok(r.usage.prompt_tokens > 3, "prompt tokens include the chat template");
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 24);
  if (c.finish_reason === "length") assert.equal(r.usage.completion_tokens, 24);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  greedy = c.message.content;
  const again = await client.chat.completions.create({ model, messages: user("Hello"), temperature: 0, max_tokens: 24 });
  assert.equal(again.choices[0].message.content, greedy, "greedy decoding is deterministic");
});

await test("max_tokens / max_completion_tokens cap the answer with finish_reason length", async () => {
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const r = await client.chat.completions.create({ model, messages: user("Tell me a story"), temperature: 0, [field]: 3 });
    assert.ok(r.usage.completion_tokens <= 3);
    if (r.choices[0].finish_reason === "length") assert.equal(r.usage.completion_tokens, 3);
  }
});

await test("streaming chat: role first, same text as non-streaming, finish_reason, include_usage", async () => {
  const stream = await client.chat.completions.create({
    model, messages: user("Hello"), temperature: 0, max_tokens: 24, stream: true, stream_options: { include_usage: true },
  });
  const chunks = await collect(stream);
  assert.ok(chunks.length >= 3);
  assert.equal(chunks[0].object, "chat.completion.chunk");
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  assert.ok(new Set(chunks.map((c) => c.id)).size === 1, "one id per stream");
  const withChoice = chunks.filter((c) => c.choices.length);
  const text = withChoice.map((c) => c.choices[0].delta.content || "").join("");
  assert.equal(text, greedy);
  assert.ok(withChoice.slice(1).every((c) => c.choices[0].delta.role === undefined), "role only in the first delta");
  const finish = withChoice.filter((c) => c.choices[0].finish_reason);
  assert.equal(finish.length, 1);
  assert.equal(finish[0], withChoice[withChoice.length - 1]);
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage.completion_tokens >= 1 && last.usage.prompt_tokens > 3);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null), "usage null until the last chunk");
});

await test("stop sequences end the answer before the stop text", async () => {
  const long = await client.chat.completions.create({ model, messages: user("Hi"), temperature: 0, max_tokens: 40 });
  const g = long.choices[0].message.content;
  // Two characters from the middle on that are real text: a model trained for two seconds on a busy
  // machine may emit invalid UTF-8, which the API shows as U+FFFD but no stop string can match.
  let pos = Math.max(2, Math.floor(g.length / 2));
  while (pos + 2 <= g.length && g.slice(pos, pos + 2).includes("\uFFFD")) ++pos;
  const stop = g.slice(pos, pos + 2);
  if (stop.length < 2) return; // no such pair (or a very short answer): nothing to cut
  const expected = g.slice(0, g.indexOf(stop));
  const r = await client.chat.completions.create({ model, messages: user("Hi"), temperature: 0, max_tokens: 40, stop: ["\u0001never", stop] });
  assert.equal(r.choices[0].message.content, expected);
  assert.equal(r.choices[0].finish_reason, "stop");
  const s = await collect(await client.chat.completions.create({ model, messages: user("Hi"), temperature: 0, max_tokens: 40, stop, stream: true }));
  assert.equal(s.map((c) => c.choices[0]?.delta?.content || "").join(""), expected);
  assert.equal(s[s.length - 1].choices[0].finish_reason, "stop");
});

await test("text completions: whole, streamed, logprobs", async () => {
  const r = await client.completions.create({ model, prompt: "namespace baimo {", max_tokens: 12, temperature: 0, logprobs: 2 });
  assert.equal(r.object, "text_completion");
  const c = r.choices[0];
  assert.equal(typeof c.text, "string");
  assert.ok(c.logprobs.tokens.length >= 1 && c.logprobs.tokens.length <= 12);
  assert.equal(c.logprobs.tokens.length, c.logprobs.token_logprobs.length);
  assert.ok(c.logprobs.token_logprobs.every((l) => l <= 0));
  assert.ok(c.logprobs.top_logprobs.every((t) => Object.keys(t).length <= 2));
  const s = await collect(await client.completions.create({ model, prompt: "namespace baimo {", max_tokens: 12, temperature: 0, stream: true }));
  assert.equal(s.map((x) => x.choices[0]?.text || "").join(""), c.text);
  const d = await client.completions.create({ model, prompt: "x" });
  assert.ok(d.usage.completion_tokens <= 16, "OpenAI's default of 16 tokens");
});

await test("chat logprobs with top_logprobs", async () => {
  const r = await client.chat.completions.create({ model, messages: user("Hello"), temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.ok(lp.length >= 1 && lp.length <= 6);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(Array.isArray(t.bytes));
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-4);
  }
});

await test("n, seed and sampling parameters", async () => {
  const params = { model, messages: user("Once upon a time"), max_tokens: 16, temperature: 1.0, top_p: 0.95, seed: 7,
    presence_penalty: 0.5, frequency_penalty: 0.5, logit_bias: { "5": -100 }, user: "e2e", n: 3 };
  const a = await client.chat.completions.create(params);
  const b = await client.chat.completions.create(params);
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content), "same seed, same text");
  const s = await collect(await client.chat.completions.create({ ...params, stream: true }));
  for (let i = 0; i < 3; i++) {
    const text = s.filter((c) => c.choices[0]?.index === i).map((c) => c.choices[0].delta.content || "").join("");
    assert.equal(text, a.choices[i].message.content, `streamed choice ${i}`);
  }
});

await test("greedy output alone == in a batch of concurrent requests", async () => {
  const prompts = ["Hello", "你好，世界", "int main() {", "模型"]; // 2 slots + 2 queue places
  const alone = [];
  for (const p of prompts) alone.push((await client.chat.completions.create({ model, messages: user(p), temperature: 0, max_tokens: 20 })).choices[0].message.content);
  const together = await Promise.all(prompts.map((p) => client.chat.completions.create({ model, messages: user(p), temperature: 0, max_tokens: 20 })));
  assert.deepEqual(together.map((r) => r.choices[0].message.content), alone);
});

await test("errors: 401 wrong or missing key", async () => {
  const bad = new OpenAI({ baseURL: base + "/v1", apiKey: "wrong", maxRetries: 0 });
  await expectApiError(bad.chat.completions.create({ model, messages: user("x") }), 401, (e) => assert.equal(e.code, "invalid_api_key"));
  const r = await fetch(base + "/v1/models");
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error.code, "missing_api_key");
});

await test("errors: 404 unknown model and route", async () => {
  await expectApiError(client.chat.completions.create({ model: "gpt-4o", messages: user("x") }), 404, (e) => {
    assert.equal(e.code, "model_not_found");
    assert.equal(e.param, "model");
  });
  const r = await fetch(base + "/v1/nothing-here", { headers: { Authorization: "Bearer " + key } });
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.code, "unknown_url");
});

await test("errors: 400 bad fields name the parameter", async () => {
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), temperature: 5 }), 400, (e) => assert.equal(e.param, "temperature"));
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), n: "two" }), 400, (e) => assert.equal(e.param, "n"));
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), tools: [] }), 400, (e) => assert.equal(e.param, "tools"));
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), frobnicate: 1 }), 400, (e) => assert.match(e.message, /frobnicate/));
  await expectApiError(client.chat.completions.create({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }] }), 400);
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), max_tokens: 100000 }), 400, (e) => {
    assert.equal(e.code, "context_length_exceeded");
    assert.match(e.message, /maximum context length is \d+ tokens/);
  });
  await expectApiError(client.chat.completions.create({ model, messages: user("x"), logit_bias: { "99999999": 1 } }), 400, (e) => assert.equal(e.param, "logit_bias"));
  const r = await fetch(base + "/v1/chat/completions", { method: "POST", headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" }, body: "{not json" });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, "invalid_json");
});

await test("errors: 413 body too large", async () => {
  const body = JSON.stringify({ model, messages: user("x".repeat(300_000)) });
  const r = await fetch(base + "/v1/chat/completions", { method: "POST", headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" }, body });
  assert.equal(r.status, 413);
  assert.equal((await r.json()).error.code, "request_too_large");
});

await test("errors: 429 with Retry-After when the queue is full", async () => {
  const many = Array.from({ length: 24 }, (_, i) => client.chat.completions.create({ model, messages: user("busy " + i), max_tokens: 48, temperature: 0 })
    .then(() => "ok", (e) => e));
  const results = await Promise.all(many);
  const limited = results.filter((r) => r instanceof OpenAI.RateLimitError);
  assert.ok(limited.length >= 1, "some requests were refused");
  assert.ok(results.filter((r) => r === "ok").length >= 1, "some requests were served");
  for (const e of limited) {
    assert.equal(e.status, 429);
    assert.equal(e.headers["retry-after"], "1");
    assert.equal(e.code, "rate_limit_exceeded");
  }
  assert.ok(results.every((r) => r === "ok" || r instanceof OpenAI.RateLimitError), String(results.find((r) => r !== "ok" && !(r instanceof OpenAI.RateLimitError))));
});

await test("/health and /metrics", async () => {
  const h = await (await fetch(base + "/health")).json();
  assert.equal(h.status, "ok");
  const m = await (await fetch(base + "/metrics", { headers: { Authorization: "Bearer " + key } })).text();
  for (const name of ["baimo_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"}", "baimo_requests_total{endpoint=\"/v1/chat/completions\",code=\"429\"}",
    "baimo_prompt_tokens_total", "baimo_completion_tokens_total", "baimo_queue_length", "baimo_active_slots",
    "baimo_time_to_first_token_seconds_bucket", "baimo_inter_token_seconds_count"])
    assert.ok(m.includes(name), `metrics lack ${name}`);
  const out = Number(m.match(/^baimo_completion_tokens_total (\d+)/m)[1]);
  assert.ok(out > 100);
});

console.log(`openai client: ${passed} tests passed`);
