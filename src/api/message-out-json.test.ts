import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { MessageRecord } from '../store/records.ts';
import { JSON_CONTENT_TYPE, messageOutJson } from './message-out-json.ts';
import { toMessageOut } from './routes/messages.ts';
import { MessageOut } from './schemas/messages.ts';

const payloads: Record<string, unknown>[] = [
  {},
  { type: 'user.created', data: { id: 1, name: 'Zoë 🚀', tags: ['a', 'b'], nested: [[{}], []] } },
  { quote: 'say "hi"\\ \n\t\u0000\u001f\u007f\u2028\u2029', lone: '\ud800 and \udfff', big: 1e21 },
  { numbers: [0, -0, -1.5, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER], flag: false },
  { nothing: null, deep: { a: { b: { c: { d: 'e' } } } }, 'key with "quotes"': 'x' },
];

function record(payload: Record<string, unknown>, i: number): MessageRecord {
  return {
    id: `msg_${'0'.repeat(21)}${i}`,
    appId: 'app_x',
    eventId: i % 2 === 0 ? null : `evt-${i}.x_y`,
    eventType: i % 3 === 0 ? 'user.created' : 'invoice.paid-v2',
    payload: JSON.stringify(payload),
    channels: i % 2 === 0 ? [`project_${i}`, 'all'] : null,
    createdAt: 1_790_000_000_123 + i,
    expiresAt: null,
    traceContext: null,
  };
}

/** Each payload as published, then as asked without content, then expired and expunged. */
const cases: { message: MessageRecord; withContent: boolean; now: number }[] = payloads.flatMap(
  (payload, i) => {
    const message = record(payload, i);
    return [
      { message, withContent: true, now: message.createdAt },
      { message, withContent: false, now: message.createdAt },
      { message: { ...message, expiresAt: message.createdAt }, withContent: true, now: 0 },
      { message: { ...message, payload: null }, withContent: true, now: 0 },
    ];
  },
);

describe('messageOutJson', () => {
  it('gives the bytes the MessageOut response schema serialises', async () => {
    const app = Fastify();
    app.get<{ Querystring: { i: string } }>(
      '/',
      { schema: { response: { 200: MessageOut } } },
      async (request) => {
        const { message, withContent, now } = cases[Number(request.query.i)]!;
        return toMessageOut(message, withContent, now);
      },
    );
    try {
      for (let i = 0; i < cases.length; i++) {
        const answer = await app.inject({ method: 'GET', url: `/?i=${i}` });
        const { message, withContent, now } = cases[i]!;
        assert.equal(messageOutJson(message, withContent, now), answer.body, `case ${i}`);
        assert.equal(answer.headers['content-type'], JSON_CONTENT_TYPE);
      }
    } finally {
      await app.close();
    }
  });
});
