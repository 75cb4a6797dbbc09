// Tracing when there is no trace to continue, when it is off, and when the collector refuses
// spans: deliveries and the API go on as usual in every case. Also the bounds that keep a flood
// of odd requests from filling the span queue (no span without a route, short attributes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { testBackend } from '../helpers/backend.ts';
import { SpanKindCode } from '../helpers/otlp-receiver.ts';
import {
  CALLER_TRACE,
  CALLER_TRACEPARENT,
  only,
  parseTraceparent,
  tracingSuite,
} from './tracing-harness.ts';

describe(`tracing: off, untraced callers and collector outages (${testBackend})`, () => {
  const suite = tracingSuite();

  it('starts a trace of its own for a publish that carries none (or junk)', async () => {
    const node = await suite.startNode({ traced: true });
    const { appId } = await suite.endpointAt(node, '/fresh');
    const { msgId, delivery } = await suite.publishAndReceive(node, appId, '/fresh', {
      traceparent: 'not-a-traceparent',
    });
    const sent = parseTraceparent(delivery.headers.traceparent);
    await suite.deliveredOk(msgId);
    // Probes are not traced: a load balancer asks every few seconds.
    const probe = await node.app?.inject({
      method: 'GET',
      url: '/api/v1/health',
      headers: { traceparent: CALLER_TRACEPARENT },
    });
    assert.ok(probe !== undefined && probe.statusCode < 300, `health: ${probe?.statusCode}`);
    await node.close();
    assert.deepEqual(suite.spansOf(CALLER_TRACE), [], 'no span for the health probe');
    const trace = suite.spansOf(sent.traceId);
    const request = only(
      trace.filter((s) => s.kind === SpanKindCode.server),
      'request',
    );
    assert.equal(request.parentSpanId, '', 'a junk traceparent is ignored: the request is a root');
    const published = only(
      trace.filter((s) => s.kind === SpanKindCode.producer),
      'publish',
    );
    assert.equal(published.parentSpanId, request.spanId);
    const attempt = only(
      trace.filter((s) => s.kind === SpanKindCode.client),
      'attempt',
    );
    assert.equal(attempt.parentSpanId, published.spanId);
  });

  it('gives no span to requests matching no route, and cuts long attribute values', async () => {
    const node = await suite.startNode({ traced: true });
    const headers = { traceparent: CALLER_TRACEPARENT };
    const ask = async (url: string) => (await node.app?.inject({ url, headers }))?.statusCode;
    // Unmatched paths, inside and outside the API: never rate limited, so never traced either.
    assert.equal(await ask(`/${'x'.repeat(2000)}`), 404);
    assert.equal(await ask('/api/v1/no-such-route'), 401);
    // A matched route with a long path: its `url.path` is cut to the provider's limit.
    const longId = `app_${'y'.repeat(400)}`;
    assert.equal(await ask(`/api/v1/app/${longId}`), 401);
    await node.close();
    const spans = suite.spansOf(CALLER_TRACE);
    const request = only(spans, 'request');
    assert.equal(request.attributes['http.route'], '/api/v1/app/:app_id');
    const path = String(request.attributes['url.path']);
    assert.equal(path.length, 256, 'url.path cut to 256 characters');
    assert.ok(`/api/v1/app/${longId}`.startsWith(path));
  });

  it("sends Herald's trace context over an endpoint's own traceparent saved before it was reserved", async () => {
    const node = await suite.startNode({ traced: true });
    // Written straight to the store: the API refuses these header names today.
    const build = createRecordBuilders(Date.now);
    const app = build.anApplication();
    await suite.store.insertApplication(app);
    const foreign = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const headers = { traceparent: foreign, tracestate: 'endpoint=1', 'x-custom': 'kept' };
    const url = suite.receiver.endpoint('/custom-trace');
    await suite.store.insertEndpoint(build.anEndpoint(app.id, { url, headers }));
    const msgId = await suite.publish(node, app.id, {
      traceparent: CALLER_TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    const [delivery] = await suite.receiver.waitForRequests(1, {
      path: '/custom-trace',
      timeoutMs: 15_000,
    });
    assert.equal(parseTraceparent(delivery?.headers.traceparent).traceId, CALLER_TRACE);
    assert.equal(delivery?.headers.tracestate, 'vendor=abc');
    assert.equal(delivery?.headers['x-custom'], 'kept', 'other custom headers still go out');
    await suite.deliveredOk(msgId);
  });

  it('ends the span of a refused publish as an error, with the error code', async () => {
    const node = await suite.startNode({ traced: true });
    const { appId } = await suite.endpointAt(node, '/twice');
    const headers = { traceparent: CALLER_TRACEPARENT };
    assert.equal(await suite.publishStatus(node, appId, headers, { eventId: 'order-7' }), 202);
    assert.equal(await suite.publishStatus(node, appId, headers, { eventId: 'order-7' }), 409);
    await node.close();
    const published = suite.spansOf(CALLER_TRACE).filter((s) => s.kind === SpanKindCode.producer);
    assert.deepEqual(
      published.map((s) => [s.statusCode, s.attributes['error.type']]),
      [
        [0, undefined],
        [2, 'conflict'],
      ],
    );
  });

  it('off: no traceparent on deliveries, no trace context stored, nothing exported', async () => {
    const node = await suite.startNode({ traced: false });
    const { appId } = await suite.endpointAt(node, '/untraced');
    const { msgId, delivery } = await suite.publishAndReceive(node, appId, '/untraced', {
      traceparent: CALLER_TRACEPARENT,
      tracestate: 'a=b',
    });
    assert.equal(delivery.headers.traceparent, undefined);
    assert.equal(delivery.headers.tracestate, undefined);
    assert.equal((await suite.store.getMessage(appId, msgId))?.traceContext, null);
    await suite.deliveredOk(msgId);
    await node.close();
    assert.equal(suite.otlp.requestCount(), 0);
  });

  it('delivers and answers as usual while the collector refuses spans, and warns once', async () => {
    suite.otlp.answerWith(500);
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const node = await suite.startNode({ traced: true, logger });
    const { appId } = await suite.endpointAt(node, '/collector-down');
    const { msgId, delivery } = await suite.publishAndReceive(node, appId, '/collector-down', {
      traceparent: CALLER_TRACEPARENT,
    });
    assert.equal(parseTraceparent(delivery.headers.traceparent).traceId, CALLER_TRACE);
    await suite.deliveredOk(msgId);
    await node.close();
    assert.ok(suite.otlp.requestCount() >= 1, 'the exporter tried');
    const warnings = lines.filter((l) => l.level === 40 && l.msg.startsWith('trace export'));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
  });
});
