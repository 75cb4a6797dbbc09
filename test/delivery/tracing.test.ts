// OpenTelemetry tracing end to end: a message published over the API with a `traceparent`
// header is delivered with a `traceparent` that continues the same trace, and a real OTLP/HTTP
// collector gets the request, publish and attempt spans, linked parent to child. The trace is
// stored with the message, so it survives a dispatcher restart. (Off, junk and collector
// outages: tracing-edge-cases.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testBackend } from '../helpers/backend.ts';
import { SpanKindCode } from '../helpers/otlp-receiver.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import type { ReceivedRequest } from '../helpers/receiver.ts';
import {
  CALLER_SPAN,
  CALLER_TRACE,
  CALLER_TRACEPARENT,
  only,
  parseTraceparent,
  tracingSuite,
} from './tracing-harness.ts';

describe(`tracing with OpenTelemetry (${testBackend})`, () => {
  const suite = tracingSuite();

  it('continues the caller trace: request, publish and attempt spans, and the receiver header', async () => {
    const node = await suite.startNode({ traced: true, serviceName: 'herald-traced' });
    const { appId, endpointId } = await suite.endpointAt(node, '/traced');
    const { msgId, delivery } = await suite.publishAndReceive(node, appId, '/traced', {
      traceparent: CALLER_TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    const sent = parseTraceparent(delivery.headers.traceparent);
    assert.equal(sent.traceId, CALLER_TRACE, 'the delivery continues the caller trace');
    assert.equal(delivery.headers.tracestate, 'vendor=abc', 'tracestate travels along');
    await suite.deliveredOk(msgId);
    const stored = await suite.store.getMessage(appId, msgId);
    await node.close(); // flushes the spans

    const trace = suite.spansOf(CALLER_TRACE);
    const request = only(
      trace.filter(
        (s) =>
          s.kind === SpanKindCode.server &&
          s.attributes['http.route'] === '/api/v1/app/:app_id/msg',
      ),
      'publish request',
    );
    assert.equal(request.parentSpanId, CALLER_SPAN);
    assert.equal(request.name, 'POST /api/v1/app/:app_id/msg');
    assert.equal(request.attributes['http.response.status_code'], 202);
    const published = only(
      trace.filter((s) => s.kind === SpanKindCode.producer),
      'publish',
    );
    assert.equal(published.parentSpanId, request.spanId, 'publish is a child of its request');
    assert.equal(published.name, 'publish order.paid');
    assert.equal(published.attributes['herald.message.id'], msgId);
    assert.equal(published.attributes['herald.delivery_count'], 1);
    assert.equal(published.serviceName, 'herald-traced');
    assert.deepEqual(stored?.traceContext, {
      traceparent: `00-${CALLER_TRACE}-${published.spanId}-01`,
      tracestate: 'vendor=abc',
    });
    const attempt = only(
      trace.filter((s) => s.kind === SpanKindCode.client),
      'attempt',
    );
    assert.equal(attempt.parentSpanId, published.spanId, 'the attempt is a child of the publish');
    assert.equal(attempt.spanId, sent.spanId, 'the receiver joins under the attempt span');
    assert.equal(attempt.attributes['herald.endpoint.id'], endpointId);
    assert.equal(attempt.attributes['herald.app.id'], appId);
    assert.match(String(attempt.attributes['herald.attempt.id']), /^atmpt_/);
    assert.equal(attempt.attributes['server.address'], '127.0.0.1');
    assert.equal(attempt.attributes['http.response.status_code'], 200);
    assert.equal(attempt.attributes['herald.attempt.outcome'], 'success');
    assert.equal(attempt.statusCode, 1, 'status OK');
  });

  it("never puts the endpoint URL's path or query on the attempt span", async () => {
    const node = await suite.startNode({ traced: true });
    const { appId } = await suite.endpointAt(node, '/private-segment?signature=hunter2');
    const msgId = await suite.publish(node, appId, { traceparent: CALLER_TRACEPARENT });
    await suite.deliveredOk(msgId);
    await node.close();
    const attempt = only(
      suite.spansOf(CALLER_TRACE).filter((s) => s.kind === SpanKindCode.client),
      'attempt',
    );
    assert.equal(attempt.attributes['server.address'], '127.0.0.1');
    const exported = JSON.stringify(attempt);
    for (const part of ['private-segment', 'signature', 'hunter2']) {
      assert.ok(!exported.includes(part), `${part} leaked into the attempt span: ${exported}`);
    }
  });

  it('gives each attempt a span of its own in the trace: a failure then a success', async () => {
    const node = await suite.startNode({ traced: true, env: { HERALD_RETRY_SCHEDULE: '0' } });
    const { appId } = await suite.endpointAt(node, '/flaky', (request: ReceivedRequest) =>
      request.nth === 1 ? { status: 500, body: 'down' } : { status: 200 },
    );
    const msgId = await suite.publish(node, appId, { traceparent: CALLER_TRACEPARENT });
    const requests = await suite.receiver.waitForRequests(2, { path: '/flaky', timeoutMs: 15_000 });
    await suite.deliveredOk(msgId);
    await node.close();

    const sent = requests.map((r) => parseTraceparent(r.headers.traceparent));
    const trace = suite.spansOf(CALLER_TRACE);
    const published = only(
      trace.filter((s) => s.kind === SpanKindCode.producer),
      'publish',
    );
    const attempts = trace.filter((s) => s.kind === SpanKindCode.client);
    assert.equal(attempts.length, 2, JSON.stringify(attempts));
    const [first, second] = sent.map((header, i) => {
      assert.equal(header.traceId, CALLER_TRACE);
      const span = attempts.find((s) => s.spanId === header.spanId);
      assert.ok(span, `attempt ${i + 1} was exported under the span id its request carried`);
      assert.equal(span.parentSpanId, published.spanId);
      assert.equal(span.attributes['herald.attempt.number'], i + 1);
      return span;
    });
    assert.notEqual(first?.spanId, second?.spanId);
    assert.equal(first?.attributes['http.response.status_code'], 500);
    assert.equal(first?.attributes['herald.attempt.outcome'], 'retry');
    assert.equal(first?.attributes['error.type'], 'server_error');
    assert.equal(first?.statusCode, 2, 'status ERROR');
    assert.equal(second?.attributes['herald.attempt.outcome'], 'success');
  });

  it('keeps the trace across a dispatcher restart: the retry joins it from the stored context', async () => {
    // Long enough that the first node is closed before the retry falls due.
    const env = { HERALD_RETRY_SCHEDULE: '6' };
    const first = await suite.startNode({ traced: true, serviceName: 'herald-a', env });
    const { appId } = await suite.endpointAt(first, '/restart', (request: ReceivedRequest) =>
      request.nth === 1 ? { status: 503 } : { status: 200 },
    );
    const msgId = await suite.publish(first, appId, { traceparent: CALLER_TRACEPARENT });
    await pollUntil(
      async () =>
        (await suite.store.listMessageDeliveries(msgId)).some((d) => d.attemptCount === 1),
      { timeoutMs: 15_000, describe: () => 'the first attempt recorded' },
    );
    await first.close();
    assert.equal(suite.receiver.requestsTo('/restart').length, 1, 'one attempt before the restart');

    const second = await suite.startNode({ traced: true, serviceName: 'herald-b', env });
    const requests = await suite.receiver.waitForRequests(2, {
      path: '/restart',
      timeoutMs: 20_000,
    });
    await suite.deliveredOk(msgId);
    await second.close();

    const retried = parseTraceparent(requests[1]?.headers.traceparent);
    assert.equal(retried.traceId, CALLER_TRACE, 'the retry continues the original trace');
    const trace = suite.spansOf(CALLER_TRACE);
    const published = only(
      trace.filter((s) => s.kind === SpanKindCode.producer),
      'publish',
    );
    assert.equal(published.serviceName, 'herald-a');
    const attempts = trace.filter((s) => s.kind === SpanKindCode.client);
    assert.deepEqual(attempts.map((s) => s.serviceName).sort(), ['herald-a', 'herald-b']);
    for (const span of attempts) assert.equal(span.parentSpanId, published.spanId);
    assert.equal(attempts.find((s) => s.serviceName === 'herald-b')?.spanId, retried.spanId);
  });
});
