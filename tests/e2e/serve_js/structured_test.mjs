// response_format against baimo serve with the official openai client (usage: node structured_test.mjs BASE MODEL):
// json_schema answers of a random-weight model parse and validate with ajv (constrained decoding makes
// even random weights write valid JSON), in parallel requests (one constraint per batch slot) and when
// streamed; json_object answers parse to objects; an unsupported keyword is a 400 that names it.
import OpenAI from "openai";
import Ajv from "ajv";
import assert from "node:assert/strict";

const [base, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none", maxRetries: 0 });
const ajv = new Ajv({ strict: false });

const schema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 8 },
    age: { type: "integer" },
    mood: { enum: ["happy", "sad", "开心"] },
    tags: { type: "array", items: { type: "string", pattern: "^[a-z]{1,4}$" }, maxItems: 3 },
    address: {
      type: "object",
      properties: { city: { type: "string", maxLength: 6 }, zip: { type: ["string", "null"], maxLength: 5 } },
      required: ["city"],
      additionalProperties: false,
    },
    note: { anyOf: [{ type: "boolean" }, { type: "number" }] },
  },
  required: ["name", "age", "mood", "tags", "address"],
  additionalProperties: false,
};
const validate = ajv.compile(schema);
const format = { type: "json_schema", json_schema: { name: "person", schema, strict: true } };

async function ask(seed, extra = {}) {
  return client.chat.completions.create({
    model, seed, temperature: 1,
    messages: [{ role: "user", content: "Describe a person as JSON." }],
    response_format: format, ...extra,
  });
}

// Several at once: they share the scheduler's batch, each slot with its own recognizer.
const answers = await Promise.all([1, 2, 3, 4].map((s) => ask(s)));
answers.push(await ask(5, { temperature: 0 }));
for (const r of answers) {
  const c = r.choices[0];
  assert.equal(c.finish_reason, "stop", `finish_reason ${c.finish_reason}: ${c.message.content}`);
  const v = JSON.parse(c.message.content);
  assert.ok(validate(v), `${c.message.content}: ${ajv.errorsText(validate.errors)}`);
}

// Streamed: the deltas concatenate to a valid document.
let text = "";
const stream = await client.chat.completions.create({
  model, seed: 9, stream: true,
  messages: [{ role: "user", content: "JSON please" }], response_format: format,
});
for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
assert.ok(validate(JSON.parse(text)), text);

// json_object: any object (random weights may run long: only finished answers must parse).
const obj = await client.chat.completions.create({
  model, seed: 3, max_tokens: 200, messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" },
});
if (obj.choices[0].finish_reason === "stop") {
  const v = JSON.parse(obj.choices[0].message.content);
  assert.equal(typeof v, "object");
  assert.ok(!Array.isArray(v) && v !== null);
} else {
  assert.ok(obj.choices[0].message.content.startsWith("{"));
}

// Unsupported keywords: 400 naming them.
for (const [bad, word] of [[{ type: "integer", minimum: 0 }, "minimum"], [{ type: "string", format: "email" }, "format"]]) {
  await assert.rejects(
    client.chat.completions.create({
      model, messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_schema", json_schema: { name: "bad", schema: { type: "object", properties: { a: bad } } } },
    }),
    (e) => e.status === 400 && e.error?.param === "response_format.json_schema.schema" && e.message.includes(word),
  );
}
await assert.rejects(
  client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], response_format: { type: "yaml" } }),
  (e) => e.status === 400 && e.error?.param === "response_format.type",
);
console.log(`structured output ok: ${answers.length} schema answers, e.g. ${answers[0].choices[0].message.content}`);
