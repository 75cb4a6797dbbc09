// What the tracing tests share: whole Herald nodes (API and dispatcher) on the backend under
// test, a real receiver that records headers, and a real OTLP/HTTP collector stand-in.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { assembleHerald, type HeraldNode } from '../../src/server.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { makeTestStore } from '../helpers/backend.ts';
import { TEST_ALLOW_NETWORKS } from '../helpers/herald-process.ts';
import {
  type ExportedSpan,
  type OtlpReceiver,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import { type ReceivedRequest, startReceiver, type TestReceiver } from '../helpers/receiver.ts';

const TOKEN = 'sk_tracing_admin_token';
export const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
export const CALLER_SPAN = '00f067aa0ba902b7';
export const CALLER_TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

export interface NodeOptions {
  /** Export spans to the test's collector; false: tracing off. */
  traced: boolean;
  serviceName?: string;
  env?: Record<string, string>;
  logger?: pino.Logger;
}

/** The parts of a `traceparent` header, failing the test when it is not one. */
export function parseTraceparent(value: unknown): { traceId: string; spanId: string } {
  assert.equal(typeof value, 'string', 'a traceparent header');
  const match = TRACEPARENT.exec(value as string);
  assert.ok(match, `a valid W3C traceparent: ${String(value)}`);
  return { traceId: match[1] as string, spanId: match[2] as string };
}

/** The one span of `spans`, failing the test when there are none or several. */
export function only(spans: ExportedSpan[], what: string): ExportedSpan {
  assert.equal(spans.length, 1, `one ${what} span: ${JSON.stringify(spans)}`);
  return spans[0] as ExportedSpan;
}

export interface TracingSuite {
  readonly receiver: TestReceiver;
  /** This test's store: every node of the test shares it, and it outlives them (restarts). */
  readonly store: Store;
  /** This test's collector. */
  readonly otlp: OtlpReceiver;
  /** A started node of every role; closed after the test unless the test closed it. */
  startNode(options: NodeOptions): Promise<HeraldNode>;
  /** An application with one endpoint at `path` of the receiver, answered by `script`. */
  endpointAt(
    node: HeraldNode,
    path: string,
    script?: Parameters<TestReceiver['endpoint']>[1],
  ): Promise<{ appId: string; endpointId: string }>;
  /** Publishes `order.paid` over the API with `headers`; resolves to the message id. */
  publish(node: HeraldNode, appId: string, headers: Record<string, string>): Promise<string>;
  /**
   * Publishes as `publish` does, then waits for the receiver to get the delivery at `path` (the
   * endpoint's path): the message id and the request as the receiver read it.
   */
  publishAndReceive(
    node: HeraldNode,
    appId: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<{ msgId: string; delivery: ReceivedRequest }>;
  /** The same, with `fields` added to the body; resolves to the API's status code. */
  publishStatus(
    node: HeraldNode,
    appId: string,
    headers: Record<string, string>,
    fields: Record<string, unknown>,
  ): Promise<number>;
  /** Resolves once the message's delivery succeeded (its outcome is recorded). */
  deliveredOk(msgId: string): Promise<void>;
  /** The spans the collector received in trace `traceId`. */
  spansOf(traceId: string): ExportedSpan[];
}

/** Call inside `describe`: sets up the receiver for the suite, a store and collector per test. */
export function tracingSuite(): TracingSuite {
  let receiver: TestReceiver | undefined;
  let store: Store | undefined;
  let otlp: OtlpReceiver | undefined;
  const nodes: HeraldNode[] = [];
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
  });
  beforeEach(async () => {
    store = await makeTestStore();
    otlp = await startOtlpReceiver();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close();
    await store?.close();
    await otlp?.close();
  });
  const defined = <T>(value: T | undefined, what: string): T => {
    assert.ok(value !== undefined, `${what} is set up before each test`);
    return value;
  };

  async function call(
    node: HeraldNode,
    url: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    assert.ok(node.app);
    const res = await node.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  }

  const suite: TracingSuite = {
    get receiver() {
      return defined(receiver, 'the receiver');
    },
    get store() {
      return defined(store, 'the store');
    },
    get otlp() {
      return defined(otlp, 'the collector');
    },
    async startNode(options) {
      const config = loadConfig({
        env: {
          HERALD_DATABASE_URL: 'sqlite::memory:',
          HERALD_ADMIN_TOKEN: TOKEN,
          HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
          HERALD_RETRY_JITTER: '0',
          HERALD_SHUTDOWN_TIMEOUT_MS: '5000',
          ...(options.traced ? { HERALD_OTEL_EXPORTER_URL: suite.otlp.url } : {}),
          ...(options.serviceName === undefined
            ? {}
            : { HERALD_OTEL_SERVICE_NAME: options.serviceName }),
          ...options.env,
        },
      });
      // The test's store outlives the node, as a database outlives a restart.
      const shared: Store = { ...suite.store, close: async () => {} };
      const logger = options.logger ?? pino({ level: 'silent' });
      const node = await assembleHerald(config, logger, { store: shared });
      nodes.push(node);
      await node.start();
      return node;
    },
    async endpointAt(node, path, script) {
      const app = await call(node, '/api/v1/app', { name: path });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      const url = suite.receiver.endpoint(path, script);
      const endpoint = await call(node, `/api/v1/app/${app.body.id}/endpoint`, { url });
      assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
      return { appId: String(app.body.id), endpointId: String(endpoint.body.id) };
    },
    async publish(node, appId, headers) {
      const body = { eventType: 'order.paid', payload: { orderId: 7 } };
      const res = await call(node, `/api/v1/app/${appId}/msg`, body, headers);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return String(res.body.id);
    },
    async publishAndReceive(node, appId, path, headers) {
      const msgId = await suite.publish(node, appId, headers);
      const [delivery] = await suite.receiver.waitForRequests(1, { path, timeoutMs: 15_000 });
      assert.ok(delivery, `a delivery at ${path}`);
      return { msgId, delivery };
    },
    async publishStatus(node, appId, headers, fields) {
      const body = { eventType: 'order.paid', payload: { orderId: 7 }, ...fields };
      return (await call(node, `/api/v1/app/${appId}/msg`, body, headers)).status;
    },
    async deliveredOk(msgId) {
      await pollUntil(
        async () =>
          (await suite.store.listMessageDeliveries(msgId)).some(
            (d) => d.status === DeliveryStatus.success,
          ),
        { timeoutMs: 15_000, describe: () => `message ${msgId} delivered` },
      );
    },
    spansOf: (traceId) => suite.otlp.spans().filter((s) => s.traceId === traceId),
  };
  return suite;
}
