// Load test: CONCURRENCY streaming clients (the openai npm package) send TOTAL requests in all to a
// running `baimo serve`. Every request must end within its time bound with either a complete,
// well-formed stream (one id, role first, text equal to the same prompt's greedy answer measured
// alone beforehand -- so nothing is lost or mixed between streams -- a finish_reason, usage, and
// [DONE]) or a proper 429 with Retry-After (the client then waits that long). A fifth of the
// requests are abandoned by their client mid-stream.
// Usage: node load_test.mjs BASE_URL API_KEY MODEL_ID [CONCURRENCY=64] [TOTAL=320]
import assert from "node:assert/strict";
import OpenAI from "openai";

const [base, key, model, concArg, totalArg] = process.argv.slice(2);
const CONCURRENCY = Number(concArg || 64);
const TOTAL = Number(totalArg || 320);
const REQUEST_BOUND_MS = 60_000;
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: REQUEST_BOUND_MS });
const prompts = ["Hello", "你好", "The model", "int main() {", "A language model is", "模型训练", "namespace baimo {", "Once upon a time"];
const maxTokens = (i) => 8 + (i % 4) * 8; // 8, 16, 24, 32

// Expected greedy answers, one request at a time.
const expected = new Map();
for (const p of prompts)
  for (let k = 0; k < 4; k++) {
    const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: p }], temperature: 0, max_tokens: maxTokens(k) });
    expected.set(p + "|" + maxTokens(k), r.choices[0].message.content);
  }

const stats = { ok: 0, rateLimited: 0, abandoned: 0, tokens: 0 };
const ids = new Set();
let next = 0;
const started = Date.now();

async function one(i) {
  const prompt = prompts[i % prompts.length];
  const max = maxTokens(Math.floor(i / prompts.length));
  const hangUp = i % 5 === 4;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_BOUND_MS);
  try {
    const stream = await client.chat.completions.create(
      { model, messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: max, stream: true, stream_options: { include_usage: true } },
      { signal: controller.signal });
    let text = "", first = true, finish = null, usage = null, id = null, n = 0;
    for await (const c of stream) {
      id ??= c.id;
      assert.equal(c.id, id, "one id per stream");
      if (c.usage) { usage = c.usage; continue; }
      const ch = c.choices[0];
      assert.equal(ch.index, 0);
      if (first) assert.equal(ch.delta.role, "assistant", "role in the first delta");
      first = false;
      text += ch.delta.content || "";
      if (ch.finish_reason) finish = ch.finish_reason;
      if (hangUp && ++n === 3) { controller.abort(); stats.abandoned++; return; }
    }
    assert.ok(!ids.has(id), "ids are unique");
    ids.add(id);
    assert.ok(finish === "stop" || finish === "length", `finish_reason ${finish}`);
    assert.ok(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= max, JSON.stringify(usage));
    assert.equal(text, expected.get(prompt + "|" + max), `request ${i} (${prompt}, ${max}): text differs from the same request alone`);
    stats.ok++;
    stats.tokens += usage.completion_tokens;
  } catch (e) {
    if (e instanceof OpenAI.RateLimitError) {
      assert.equal(e.status, 429);
      assert.equal(e.headers["retry-after"], "1");
      stats.rateLimited++;
      await new Promise((r) => setTimeout(r, 1000 * Number(e.headers["retry-after"]))); // as a polite client does
    } else if (hangUp && (e.name === "AbortError" || e instanceof OpenAI.APIUserAbortError)) {
      stats.abandoned++;
    } else {
      throw new Error(`request ${i}: ${e.stack || e}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function worker() {
  while (next < TOTAL) await one(next++);
}
try {
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
} catch (e) {
  console.error("FAIL", e.message);
  process.exit(1);
}
const secs = (Date.now() - started) / 1000;
assert.equal(stats.ok + stats.rateLimited + stats.abandoned, TOTAL, "every request accounted for");
assert.ok(stats.ok >= TOTAL / 4, `only ${stats.ok} of ${TOTAL} served`);
console.log(`load: ${TOTAL} requests from ${CONCURRENCY} clients in ${secs.toFixed(1)} s: ${stats.ok} complete, ` +
  `${stats.rateLimited} answered 429, ${stats.abandoned} hung up by the client; ${stats.tokens} tokens streamed`);
