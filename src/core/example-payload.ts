import type { EventTypeRecord } from '../store/records.ts';

export type ExamplePayload =
  | { ok: true; payload: Record<string, unknown> }
  /** The schema has examples, but not as many as `index` asks for. */
  | { ok: false; available: number };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The payload send-example delivers: the `index`th of the `examples` of the event type's
 * newest schema version, or `{ "data": {}, "type": <name> }` when the schema has none.
 * Examples that are not JSON objects are skipped over, since a message payload must be one.
 */
export function examplePayload(
  eventType: Pick<EventTypeRecord, 'name' | 'schemas'>,
  index = 0,
): ExamplePayload {
  const versions = Object.keys(eventType.schemas ?? {}).sort(
    (a, b) => Number(b) - Number(a) || b.localeCompare(a),
  );
  for (const version of versions) {
    const schema = eventType.schemas?.[version];
    if (!isPlainObject(schema) || !Array.isArray(schema.examples)) continue;
    const examples = schema.examples.filter(isPlainObject);
    if (examples.length === 0) continue;
    const example = examples[index];
    return example === undefined
      ? { ok: false, available: examples.length }
      : { ok: true, payload: example };
  }
  return { ok: true, payload: { data: {}, type: eventType.name } };
}
