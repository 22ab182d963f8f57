// Slow clients against a running `baimo serve` (plain node net/fetch, no npm packages, loopback
// only): SLOW connections from 127.0.0.2 each send a request line and then one header line per
// second, never finishing their head. Meanwhile requests from 127.0.0.1 must still be answered
// within a second; connections beyond the per-address cap are refused at once (429), and the
// server cuts the ones it holds at its header deadline (408). Stops by itself: every socket is
// destroyed at the end and a watchdog exits after 60 s.
// Usage: node slow_clients_test.mjs BASE_URL MODEL_ID SLOW CAP HEADER_TIMEOUT_S
import assert from "node:assert/strict";
import net from "node:net";

const [base, model, slowArg, capArg, headerTimeoutArg] = process.argv.slice(2);
const SLOW = Number(slowArg), CAP = Number(capArg), HEADER_TIMEOUT_MS = Number(headerTimeoutArg) * 1000;
const port = Number(new URL(base).port);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
setTimeout(() => { console.error("FAIL: watchdog: the test ran past 60 s"); process.exit(1); }, 60_000).unref();

// One slow connection: what it received and when the server closed it (ms after connecting).
function slowClient(i) {
  const c = { got: "", closedAfter: null, t0: Date.now(), timer: null };
  c.sock = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" }, () => {
    c.sock.write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    let n = 0;
    c.timer = setInterval(() => c.sock.write(`X-Slow-${n++}: ${i}\r\n`), 1000);
  });
  c.sock.on("data", (d) => { c.got += d.toString(); });
  c.sock.on("error", () => {});
  c.sock.on("close", () => { clearInterval(c.timer); if (c.closedAfter === null) c.closedAfter = Date.now() - c.t0; });
  return c;
}

const slow = [];
for (let i = 0; i < SLOW; i++) slow.push(slowClient(i));
await sleep(1500); // every slow connection is in, each has sent a header line or two

// Normal clients from 127.0.0.1 are served within a second, several times over.
for (let k = 0; k < 3; k++) {
  let t0 = Date.now();
  const h = await fetch(base + "/health", { signal: AbortSignal.timeout(5000) });
  assert.equal(h.status, 200);
  const healthMs = Date.now() - t0;
  t0 = Date.now();
  const r = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(5000),
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0 }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  await r.json();
  const chatMs = Date.now() - t0;
  console.log(`normal requests among ${SLOW} slow connections: /health ${healthMs} ms, chat ${chatMs} ms`);
  assert.ok(healthMs < 1000 && chatMs < 1000, `a normal request took ${Math.max(healthMs, chatMs)} ms`);
  await sleep(300);
}

// Beyond the cap: refused at once with 429.
const refused = slow.filter((c) => c.got.startsWith("HTTP/1.1 429"));
assert.equal(refused.length, SLOW - CAP, `refused ${refused.length} of ${SLOW} (cap ${CAP})`);
assert.ok(refused.every((c) => c.closedAfter !== null && c.closedAfter < 1000), "refusals were not immediate");
assert.ok(refused[0].got.includes("too_many_connections"), refused[0].got);

// The held ones are cut at the header deadline with 408.
await sleep(HEADER_TIMEOUT_MS + 1500 - (Date.now() - slow[0].t0));
const held = slow.filter((c) => !c.got.startsWith("HTTP/1.1 429"));
const cut = held.filter((c) => c.got.startsWith("HTTP/1.1 408") && c.closedAfter !== null);
assert.equal(cut.length, held.length, `${held.length - cut.length} slow connections still open or not answered 408`);
assert.ok(cut.every((c) => c.closedAfter >= HEADER_TIMEOUT_MS - 500 && c.closedAfter < HEADER_TIMEOUT_MS + 1500),
  `cut after ${Math.min(...cut.map((c) => c.closedAfter))}..${Math.max(...cut.map((c) => c.closedAfter))} ms`);
console.log(`slow clients: ${refused.length} refused at once (429), ${cut.length} cut at the ${HEADER_TIMEOUT_MS} ms header deadline (408)`);

for (const c of slow) { clearInterval(c.timer); c.sock.destroy(); }
console.log("slow clients ok");
