// HTTP edge cases and client habits against a running `baimo serve --api-key KEY` (issue 11
// items 6 and 11): raw requests over node's net (duplicate or negative Content-Length, too many
// headers, wrong methods, the Authorization scheme's case), what the official `openai` client
// sends that baimo accepts (message name, response_format text, top_p 0, store, metadata,
// parallel_tool_calls) or refuses naming the field (functions), and log-probs with one entry per
// generated token, special tokens included. Loopback only.
// Usage: node http_edge_test.mjs BASE_URL API_KEY MODEL_ID SPECIAL_TOKEN_ID
import assert from "node:assert/strict";
import net from "node:net";
import OpenAI from "openai";

const [base, key, model, specialArg] = process.argv.slice(2);
const special = Number(specialArg);
const port = Number(new URL(base).port);
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: 30_000 });
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

// Sends `raw` on a fresh connection; resolves with what came back once the server closed the
// connection or `ms` passed, and how long that took.
function rawRequest(raw, ms = 3000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let got = "";
    const sock = net.connect({ host: "127.0.0.1", port }, () => sock.write(raw));
    const done = (open) => { clearTimeout(timer); sock.destroy(); resolve({ got, ms: Date.now() - t0, open }); };
    const timer = setTimeout(() => done(true), ms);
    sock.on("data", (d) => { got += d.toString(); });
    sock.on("error", () => {});
    sock.on("close", () => done(false));
  });
}
const status = (got) => Number((got.match(/^HTTP\/1\.1 (\d+)/) || [])[1]);
const auth = `Authorization: Bearer ${key}\r\n`;
const body = JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });
const post = (headers, payload = body) => `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${payload}`;

await test("a plain raw request is answered", async () => {
  const r = await rawRequest(post(`${auth}Content-Length: ${body.length}\r\nConnection: close\r\n`));
  assert.equal(status(r.got), 200, r.got);
});

await test("conflicting duplicate Content-Length is a 400", async () => {
  const r = await rawRequest(post(`${auth}Content-Length: ${body.length}\r\nContent-Length: 5\r\n`));
  assert.equal(status(r.got), 400, r.got);
  assert.match(r.got, /Conflicting Content-Length/);
  assert.equal(r.open, false, "the connection stays open after an ambiguous body");
});

await test("Content-Length: -1 is an immediate 400", async () => {
  const r = await rawRequest(post(`${auth}Content-Length: -1\r\n`, ""));
  assert.equal(status(r.got), 400, r.got);
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
});

await test("Content-Length with Transfer-Encoding is a 400; a body over --max-body a 413 before it is sent", async () => {
  let r = await rawRequest(post(`${auth}Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`));
  assert.equal(status(r.got), 400, r.got);
  r = await rawRequest(post(`${auth}Content-Length: 999999999\r\n`, ""));
  assert.equal(status(r.got), 413, r.got);
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
});

await test("header count and size are capped (431)", async () => {
  let many = "";
  for (let i = 0; i < 150; i++) many += `X-Many-${i}: ${i}\r\n`;
  let r = await rawRequest(`GET /health HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
  assert.equal(status(r.got), 431, r.got);
  const big = Array.from({ length: 9 }, (_, i) => `X-Big-${i}: ${"c".repeat(8000)}\r\n`).join(""); // 72 KB, lines < 8 KB
  r = await rawRequest(`GET /health HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
  assert.equal(status(r.got), 431, r.got);
});

await test("a wrong method on a known route is a 405 with Allow", async () => {
  let r = await rawRequest(`GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`);
  assert.equal(status(r.got), 405, r.got);
  assert.match(r.got, /\r\nAllow: POST\r\n/i);
  assert.match(r.got, /method_not_allowed/);
  r = await rawRequest(`DELETE /v1/models HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`);
  assert.equal(status(r.got), 405, r.got);
  assert.match(r.got, /\r\nAllow: GET, HEAD\r\n/i);
  r = await rawRequest(`GET /v1/nothing HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`);
  assert.equal(status(r.got), 404, r.got);
});

await test("the Authorization scheme is matched case-insensitively", async () => {
  for (const scheme of ["bearer", "BEARER", "Bearer"]) {
    const r = await fetch(base + "/v1/models", { headers: { Authorization: `${scheme} ${key}` } });
    assert.equal(r.status, 200, scheme);
  }
  const r = await fetch(base + "/v1/models", { headers: { Authorization: `Basic ${key}` } });
  assert.equal(r.status, 401);
});

await test("fields clients send that change nothing are accepted; top_p 0 is greedy", async () => {
  const greedy = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hello" }], temperature: 0, max_tokens: 12 });
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Hello", name: "alice" }], max_tokens: 12, top_p: 0, temperature: 1,
    response_format: { type: "text" }, store: false, metadata: { app: "e2e" }, parallel_tool_calls: false,
  });
  assert.equal(r.choices[0].message.content, greedy.choices[0].message.content);
});

await test("the deprecated functions field is refused naming it; tool_choice needs tools", async () => {
  for (const [body, param] of [
    [{ functions: [{ name: "f", parameters: { type: "object", properties: {} } }] }, "functions"],
    [{ tool_choice: "auto" }, "tool_choice"],
  ]) {
    try {
      await client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], ...body });
      assert.fail(`accepted ${JSON.stringify(body)}`);
    } catch (e) {
      assert.equal(e.status, 400, String(e));
      assert.equal(e.param, param);
    }
  }
});

await test("log-probs: one entry per generated token, special tokens included", async () => {
  const logit_bias = { [special]: 100 }; // the answer is special tokens only
  const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, logprobs: true, top_logprobs: 1, logit_bias });
  const content = r.choices[0].logprobs.content;
  assert.ok(r.usage.completion_tokens >= 1);
  assert.equal(content.length, r.usage.completion_tokens, JSON.stringify(r));
  assert.match(content[0].token, /^<\|.*\|>$/);
  const c = await client.completions.create({ model, prompt: "Hi", max_tokens: 5, logprobs: 1, logit_bias });
  assert.equal(c.choices[0].logprobs.tokens.length, c.usage.completion_tokens, JSON.stringify(c));
  const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, logprobs: true, logit_bias,
    stream: true, stream_options: { include_usage: true } });
  let entries = 0, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) entries += ch.logprobs?.content?.length ?? 0;
  }
  assert.equal(entries, usage.completion_tokens);
});

console.log(`http edge: ${passed} tests passed`);
