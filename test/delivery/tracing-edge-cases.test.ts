// Tracing when there is no trace to continue, when it is off, and when the collector refuses
// spans: deliveries and the API go on as usual in every case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
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
    const msgId = await suite.publish(node, appId, { traceparent: 'not-a-traceparent' });
    const [delivery] = await suite.receiver.waitForRequests(1, {
      path: '/fresh',
      timeoutMs: 15_000,
    });
    const sent = parseTraceparent(delivery?.headers.traceparent);
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
    const msgId = await suite.publish(node, appId, {
      traceparent: CALLER_TRACEPARENT,
      tracestate: 'a=b',
    });
    const [delivery] = await suite.receiver.waitForRequests(1, {
      path: '/untraced',
      timeoutMs: 15_000,
    });
    assert.equal(delivery?.headers.traceparent, undefined);
    assert.equal(delivery?.headers.tracestate, undefined);
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
    const msgId = await suite.publish(node, appId, { traceparent: CALLER_TRACEPARENT });
    const [delivery] = await suite.receiver.waitForRequests(1, {
      path: '/collector-down',
      timeoutMs: 15_000,
    });
    assert.equal(parseTraceparent(delivery?.headers.traceparent).traceId, CALLER_TRACE);
    await suite.deliveredOk(msgId);
    await node.close();
    assert.ok(suite.otlp.requestCount() >= 1, 'the exporter tried');
    const warnings = lines.filter((l) => l.level === 40 && l.msg.startsWith('trace export'));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
  });
});
