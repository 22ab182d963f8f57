// The web chat page in Debian's Chromium, driven by playwright-core: the page loads from the
// server (no CDN: every request stays on the server's origin), the UI switches to Chinese, a
// message gets a streamed answer (the text grows over several observations), Stop ends it early,
// New chat clears the conversation; the Markdown renderer escapes HTML. Saves a screenshot.
// Usage: node browser_test.mjs BASE_URL API_KEY SCREENSHOT.png
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, key, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.addInitScript((k) => {
    localStorage.setItem("baimo.apiKey", k);
    localStorage.setItem("baimo.maxTokens", "16000");
    localStorage.setItem("baimo.temperature", "0"); // greedy: the random model's answer runs to max tokens (seconds)
  }, key);
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("model-name").textContent.length > 0);

  // Markdown: HTML in model text is shown, never executed; code blocks and emphasis render.
  const md = await page.evaluate(() => window.renderMarkdown("**bold** <img src=x onerror=alert(1)>\n```js\nlet a = '<b>';\n```\n- item `x<y`"));
  assert.ok(md.includes("<strong>bold</strong>"), md);
  assert.ok(md.includes("&lt;img src=x onerror=alert(1)&gt;"), md);
  assert.ok(md.includes('<pre><code class="language-js">let a = &#39;&lt;b&gt;&#39;;</code></pre>'), md);
  assert.ok(md.includes("<li>item <code>x&lt;y</code></li>"), md);
  assert.ok(!/<img|<b>/.test(md), md);

  // Chinese UI text.
  await page.selectOption("#lang", "zh");
  assert.equal(await page.textContent("#send"), "发送");
  assert.equal(await page.textContent("#new-chat"), "新对话");

  // Settings: a system prompt.
  await page.click("#toggle-settings");
  await page.fill("#system-prompt", "You are a helpful assistant.");

  // Send; watch the answer grow; press Stop while it is still streaming.
  await page.fill("#input", "你好! Tell me a long story.");
  await page.press("#input", "Enter");
  const answer = page.locator(".msg.assistant").last();
  const lengths = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const n = (await answer.textContent()).length;
    if (!lengths.length || n !== lengths[lengths.length - 1]) lengths.push(n);
    if (lengths.filter((x) => x > 0).length >= 3) break;
    await page.waitForTimeout(15);
  }
  assert.ok(lengths.filter((x) => x > 0).length >= 3, `the answer did not stream: lengths ${lengths}`);
  assert.equal(await page.isEnabled("#stop"), true, "Stop is enabled while streaming");
  await page.click("#stop");
  await page.waitForSelector(".msg.assistant.stopped", { timeout: 5000 });
  await page.waitForFunction(() => document.getElementById("send").disabled === false);
  const stoppedAt = (await answer.textContent()).length;
  await page.waitForTimeout(300);
  assert.equal((await answer.textContent()).length, stoppedAt, "no text arrives after Stop");
  assert.equal(await page.textContent("#status"), "已停止。");
  await page.screenshot({ path: screenshot, fullPage: true });

  // A second turn in the same conversation completes (short answer), then New chat clears it.
  await page.fill("#max-tokens", "8");
  await page.fill("#input", "Hello again");
  await page.click("#send");
  await page.waitForFunction(() => /完成/.test(document.getElementById("status").textContent), null, { timeout: 20_000 });
  assert.equal(await page.locator(".msg").count(), 4);
  await page.click("#new-chat");
  assert.equal(await page.locator(".msg").count(), 0);

  assert.deepEqual(foreign, [], "requests outside the server's origin (CDN?)");
  assert.deepEqual(pageErrors, [], "page errors");
  console.log(`browser: streamed answer (lengths ${lengths.join(" -> ")}), stopped at ${stoppedAt} chars, screenshot ${screenshot}`);
} catch (e) {
  console.error("FAIL", e);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
