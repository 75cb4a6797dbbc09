// Request bodies for an API fuzzer: values drawn from a route's own JSON Schema (so some get
// past validation and reach the handler and the database), those values bent out of shape, and
// bodies that are not JSON, not objects, too deep, too big or not even UTF-8.
import fc from 'fast-check';
import type { JsonSchema } from './fuzz-routes.ts';
import { DATE_TEXTS, EDGE_NUMBERS, hostileString } from './fuzz-values.ts';

/** A body as sent: text, or bytes that need not be UTF-8. */
export type FuzzBody = string | Uint8Array;

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null;
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** Strings of the schema, or the shape a client would guess from its name. */
function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const max = Math.min(num(schema.maxLength) ?? 40, 40);
  const min = Math.min(num(schema.minLength) ?? 0, max);
  if (schema.format === 'date-time') {
    const date = fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true });
    return fc.oneof(
      { weight: 4, arbitrary: date.map((d) => d.toISOString()) },
      { weight: 1, arbitrary: fc.constantFrom(...DATE_TEXTS) },
    );
  }
  if (typeof schema.pattern === 'string' && schema.pattern !== '^[^\\u0000]*$') {
    return fc
      .stringMatching(new RegExp(schema.pattern), { size: 'xsmall' })
      .map((s) => s.slice(0, max))
      .filter((s) => s.length >= Math.max(min, 1));
  }
  if (Array.isArray(schema.examples) && typeof schema.examples[0] === 'string') {
    return fc.constantFrom(...(schema.examples as string[]));
  }
  return fc
    .string({ unit: 'grapheme', minLength: min, maxLength: max })
    .filter((s) => !s.includes('\u0000'));
}

/**
 * A value the schema would (mostly) accept. Unions pick a branch; objects always carry their
 * required properties and sometimes the optional ones; maps get a few entries.
 */
export function fromSchema(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 5) return fc.constant(null);
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches) && branches.length > 0) {
    return fc.oneof(...branches.filter(isObject).map((b) => fromSchema(b, depth + 1)));
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({
        min: Math.max(num(schema.minimum) ?? -1000, -(2 ** 31)),
        max: Math.min(num(schema.maximum) ?? 1_000_000, 2 ** 31),
      });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = isObject(schema.items) ? fromSchema(schema.items, depth + 1) : fc.jsonValue();
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.max(minLength, Math.min(num(schema.maxItems) ?? 4, 4));
      return schema.uniqueItems === true
        ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
        : fc.array(items, { minLength, maxLength });
    }
    case 'object':
      return objectFor(schema, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectFor(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, sub] of Object.entries(properties)) {
    if (isObject(sub)) model[name] = fromSchema(sub, depth + 1);
  }
  const record = fc.record(model, {
    requiredKeys: Object.keys(model).filter((k) => required.has(k)),
  });
  // Maps: `additionalProperties: <schema>`, TypeBox's `patternProperties`, or any JSON at all.
  const patterns = isObject(schema.patternProperties)
    ? Object.values(schema.patternProperties)
    : [];
  const extra =
    schema.additionalProperties === true ? {} : (schema.additionalProperties ?? patterns[0]);
  if (!isObject(extra)) return record;
  const key = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
  const map = fc.dictionary(key, fromSchema(extra, depth + 1), {
    maxKeys: 3,
    noNullPrototype: true,
  });
  return fc.tuple(record, map).map(([r, m]) => ({ ...m, ...(r as object) }));
}

/** A value of the wrong kind for wherever it lands. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString(),
  fc.constantFrom(...EDGE_NUMBERS, true, false, null, [], {}, [null], { a: { b: {} } }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Bends a schema-shaped value: a field gets a wrong value, goes missing, or an extra appears. */
export function bend(value: unknown): fc.Arbitrary<unknown> {
  if (!isObject(value) || Array.isArray(value)) return wrongValue;
  const keys = Object.keys(value);
  const pick = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('extra');
  return fc.oneof(
    fc.tuple(pick, wrongValue).map(([k, v]) => ({ ...value, [k]: v })),
    pick.map((k) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== k))),
    fc.tuple(hostileString(), wrongValue).map(([k, v]) => Object.assign({ ...value }, { [k]: v })),
  );
}

/** Text that is not what a JSON body should be. */
const BROKEN_TEXT = [
  '{',
  '{"a":',
  "{'a': 1}",
  '{"a":1}garbage',
  '{"a":1,}',
  'null',
  '[]',
  '1',
  '"text"',
  'true',
  'NaN',
  '1e999',
  '{"n":1e999}',
  '\ufeff{}',
  '{"a":1,"a":2}',
  '{"__proto__":{"polluted":1}}',
  '{"name":"x","__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"name":"\\ud800"}',
  '{"name":"\\u0000"}',
  '{"url":"https://example.com/\\u0000"}',
  '   ',
  '\u0000',
];

const depthOf = fc.constantFrom(10, 63, 64, 65, 100, 1000, 20000);

/** Nested arrays or objects `depth` deep, alone or as a field of an object. */
const deepBody: fc.Arbitrary<string> = fc
  .tuple(depthOf, fc.constantFrom('array', 'object', 'payload'))
  .map(([depth, shape]) => {
    if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return shape === 'object' ? nested : `{"eventType":"x","payload":${nested},"name":"n"}`;
  });

/** Strings near and past the body limit (1 MiB by default). */
const hugeBody: fc.Arbitrary<string> = fc
  .constantFrom(100_000, 1_048_000, 1_048_577, 3_000_000)
  .map((n) => `{"name":"${'a'.repeat(n)}","url":"https://example.com/"}`);

/** Bytes that are not UTF-8, inside or instead of JSON. */
const invalidUtf8: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .constantFrom([0xff], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80])
    .map((bad) => Uint8Array.from([...Buffer.from('{"name":"'), ...bad, ...Buffer.from('"}')])),
  fc.uint8Array({ maxLength: 64 }),
);

/** A body for a route with `schema` (or none): schema-shaped, bent, or broken. */
export function bodyFor(schema: JsonSchema | undefined): fc.Arbitrary<FuzzBody | undefined> {
  const shaped = schema === undefined ? fc.jsonValue({ maxDepth: 2 }) : fromSchema(schema);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: shaped.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 4, arbitrary: shaped.chain(bend).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.constantFrom(...BROKEN_TEXT) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: deepBody },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: hostileString() },
    { weight: 1, arbitrary: hugeBody },
  );
}
