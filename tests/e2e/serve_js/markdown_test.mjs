// The chat page's Markdown renderer (web/markdown.js) under node, no browser: links keep their
// URLs intact (no <strong>/<em> inside an href), emphasis still works around and inside link
// labels, and HTML in model output stays escaped. Usage: node markdown_test.mjs path/to/markdown.js
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

vm.runInThisContext(readFileSync(process.argv[2], "utf8"));
const md = globalThis.renderMarkdown;

const hrefs = (html) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);

let html = md("see [docs](https://example.com/a**b**c) and **bold**");
assert.deepEqual(hrefs(html), ["https://example.com/a**b**c"], html);
assert.ok(html.includes("<strong>bold</strong>"), html);

html = md("[x](https://e.com/*a*/b*c*) *it* [**label**](https://e.com/**)");
assert.deepEqual(hrefs(html), ["https://e.com/*a*/b*c*", "https://e.com/**"], html);
assert.ok(html.includes("<em>it</em>"), html);
assert.ok(html.includes("<strong>label</strong></a>"), html);
assert.ok(!/href="[^"]*</.test(html), html);

html = md('<img src=x onerror=alert(1)> [a](javascript:alert(1)) [b](https://e.com/"onmouseover=x)');
assert.ok(!html.includes("<img"), html);
assert.ok(hrefs(html).every((h) => h.startsWith("https://") && !h.includes('"')), html);
console.log("markdown ok");
