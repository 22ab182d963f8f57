// Function calling against baimo serve with the official openai client (usage: node tools_test.mjs BASE MODEL):
// on a random-weight model, tool_choice "required" / a named function constrains the answer to a call
// whose arguments validate against the function's schema (checked with ajv); the streamed call is
// assembled by the client's own stream helper; a full round trip (call -> tool message -> answer) is
// accepted back; the client's runTools runner parses the call and runs the function; bad tool
// requests are 400s naming the field.
import OpenAI from "openai";
import Ajv from "ajv";
import assert from "node:assert/strict";

// A third argument "calls-only": only the required / named / streamed calls (a second server whose
// model brings its own chat template).
const [base, model, mode] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none", maxRetries: 0 });
const ajv = new Ajv({ strict: false });

const weather = {
  type: "object",
  properties: {
    city: { type: "string", maxLength: 12 },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer" },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const tools = [
  { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: weather } },
  { type: "function", function: { name: "get_time", description: "当前时间",
    parameters: { type: "object", properties: { tz: { type: "string", maxLength: 8 } }, required: ["tz"], additionalProperties: false } } },
];
const schemas = Object.fromEntries(tools.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
const messages = [{ role: "user", content: "What is the weather in Paris? 巴黎天气如何？" }];

function checkCalls(choice, onlyName) {
  assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice));
  const calls = choice.message.tool_calls;
  assert.ok(calls.length >= 1);
  for (const c of calls) {
    assert.equal(c.type, "function");
    assert.match(c.id, /^call_[A-Za-z0-9]{24}$/);
    if (onlyName) assert.equal(c.function.name, onlyName);
    const validate = schemas[c.function.name];
    assert.ok(validate, `unknown function ${c.function.name}`);
    const args = JSON.parse(c.function.arguments);
    assert.ok(validate(args), `${c.function.arguments}: ${ajv.errorsText(validate.errors)}`);
  }
  return calls;
}

// required: several seeds side by side (one recognizer per batch slot), one call each.
const answers = await Promise.all([1, 2, 3].map((seed) =>
  client.chat.completions.create({ model, seed, messages, tools, tool_choice: "required", parallel_tool_calls: false })));
for (const r of answers) assert.equal(checkCalls(r.choices[0]).length, 1);

// A named function.
const named = await client.chat.completions.create({
  model, seed: 4, messages, tools, tool_choice: { type: "function", function: { name: "get_time" } } });
const [timeCall] = checkCalls(named.choices[0], "get_time");

// Streamed: the client's stream helper assembles delta.tool_calls into the final message.
const stream = client.beta.chat.completions.stream({
  model, seed: 5, messages, tools, tool_choice: "required", parallel_tool_calls: false, stream: true });
const final = await stream.finalChatCompletion();
checkCalls(final.choices[0]);

if (mode === "calls-only") {
  console.log("tools e2e (calls only) ok");
  process.exit(0);
}

// The round trip: the call and its result go back; the model answers (tool_choice none: plain text).
const roundTrip = [
  ...messages,
  { role: "assistant", content: null, tool_calls: [timeCall] },
  { role: "tool", tool_call_id: timeCall.id, content: JSON.stringify({ time: "12:00" }) },
];
const answer = await client.chat.completions.create({ model, seed: 6, messages: roundTrip, tools, tool_choice: "none", max_tokens: 12 });
const c = answer.choices[0];
assert.equal(c.message.role, "assistant");
assert.ok(["stop", "length"].includes(c.finish_reason), c.finish_reason);
assert.equal(typeof c.message.content, "string");
assert.equal(c.message.tool_calls, undefined);
// auto may or may not call; either way the answer is well formed.
const auto = await client.chat.completions.create({ model, seed: 7, messages: roundTrip, tools, max_tokens: 12 });
assert.ok(["stop", "length", "tool_calls"].includes(auto.choices[0].finish_reason));

// runTools: the client parses the forced call's arguments and runs the function with them.
let ran = null;
const runner = client.beta.chat.completions.runTools({
  model, seed: 8, messages,
  tool_choice: { type: "function", function: { name: "get_weather" } },
  tools: [{ type: "function", function: { name: "get_weather", parameters: weather, parse: JSON.parse,
    function: (args) => { ran = args; return { temperature: 21 }; } } }],
});
await runner.done();
assert.ok(ran && schemas.get_weather(ran), `runTools ran get_weather with ${JSON.stringify(ran)}`);

// Bad tool requests: 400s that name the field.
async function expect400(body, param, needle) {
  try {
    await client.chat.completions.create({ model, messages, ...body });
    assert.fail(`accepted ${JSON.stringify(body)}`);
  } catch (e) {
    assert.equal(e.status, 400, String(e));
    assert.equal(e.param, param, e.message);
    assert.ok(e.message.includes(needle), e.message);
  }
}
await expect400({ tool_choice: "auto" }, "tool_choice", "only allowed when 'tools'");
await expect400({ tools, tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice.function.name", "not in 'tools'");
await expect400({ tools: [{ type: "function", function: { name: "f", parameters: { type: "object",
  properties: { mail: { type: "string", format: "email" } } } } }], tool_choice: "required" }, "tools", "format");
console.log("tools e2e ok");
