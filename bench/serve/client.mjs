// Streaming load generator for bench/serve: CLIENTS concurrent clients, each sending REQUESTS
// streamed chat completions one after another (fetch + SSE parsing, no npm dependency).
// Prints one JSON line: {clients, requests, tokens, seconds, tokens_per_s, ttft_ms: [...]}.
// Usage: node client.mjs BASE_URL MODEL CLIENTS REQUESTS MAX_TOKENS
const [base, model, clientsArg, requestsArg, maxArg] = process.argv.slice(2);
const CLIENTS = Number(clientsArg), REQUESTS = Number(requestsArg), MAX_TOKENS = Number(maxArg);
const prompts = ["Write a story about a robot.", "讲一个关于大海的故事。", "Explain continuous batching.", "int main() {"];

async function one(i) {
  const t0 = performance.now();
  const r = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: prompts[i % prompts.length] + " #" + i }],
      max_tokens: MAX_TOKENS, temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true } }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "", ttft = null, tokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const c = JSON.parse(ev.slice(6));
      if (ttft === null && c.choices.length) ttft = performance.now() - t0;
      if (c.usage) tokens = c.usage.completion_tokens;
    }
  }
  return { ttft, tokens };
}

const ttfts = [];
let tokens = 0, next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, async () => {
  for (let k = 0; k < REQUESTS; k++) {
    const res = await one(next++);
    ttfts.push(res.ttft);
    tokens += res.tokens;
  }
}));
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ clients: CLIENTS, requests: CLIENTS * REQUESTS, tokens, seconds, tokens_per_s: tokens / seconds, ttft_ms: ttfts }));
