// Library mode with tracing on: `herald.publish(...)` runs in the host application's code, so the
// publish span is a child of the host's active OpenTelemetry span (when the host runs an SDK with
// a context manager), and the delivery continues that trace. Also through the caller's own
// PostgreSQL transaction.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { createHerald, type Herald } from '../../src/index.ts';
import { describePostgres, uniqueSchema } from '../helpers/backend.ts';
import { type OtlpReceiver, SpanKindCode, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import {
  connectApplication,
  createAppWithEndpoint,
  createPostgresHerald,
  dropSchema,
  LIBRARY_ADMIN_TOKEN,
} from './support.ts';

const HOST_TRACE = '0af7651916cd43dd8448eb211c80319c';
const HOST_SPAN = 'b7ad6b7169203331';

/** What a host application's OpenTelemetry SDK registers: the active context per async flow. */
class HostContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

/** Runs `fn` as the host would inside its own span `HOST_SPAN` of trace `HOST_TRACE`. */
function inHostSpan<T>(fn: () => Promise<T>): Promise<T> {
  const host = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: HOST_TRACE,
    spanId: HOST_SPAN,
    traceFlags: TraceFlags.SAMPLED,
  });
  return context.with(host, fn);
}

before(() => {
  context.setGlobalContextManager(new HostContextManager());
});
after(() => {
  context.disable();
});

/** The delivery's traceparent continues the host trace; the publish span hangs under the host span. */
async function assertJoinsHostTrace(
  herald: Herald,
  receiver: TestReceiver,
  otlp: OtlpReceiver,
  path: string,
  msgId: string,
): Promise<void> {
  const [delivered] = await receiver.waitForRequests(1, { path, timeoutMs: 15_000 });
  assert.match(String(delivered?.headers.traceparent), new RegExp(`^00-${HOST_TRACE}-`));
  await herald.close(); // flushes the spans
  const spans = otlp
    .spans()
    .filter((s) => s.traceId === HOST_TRACE && s.attributes['herald.message.id'] === msgId);
  const published = spans.filter((s) => s.kind === SpanKindCode.producer);
  assert.equal(published.length, 1, JSON.stringify(spans));
  assert.equal(published[0]?.parentSpanId, HOST_SPAN);
  const attempt = spans.find((s) => s.kind === SpanKindCode.client);
  assert.equal(attempt?.parentSpanId, published[0]?.spanId);
}

describe('library mode: publish joins the host application trace', () => {
  let receiver: TestReceiver;
  let otlp: OtlpReceiver;

  before(async () => {
    receiver = await startReceiver();
    otlp = await startOtlpReceiver();
  });
  after(async () => {
    await receiver?.close();
    await otlp?.close();
  });

  it('publish(message) on SQLite', async (t) => {
    const herald = await createHerald({
      databaseUrl: 'sqlite::memory:',
      adminToken: LIBRARY_ADMIN_TOKEN,
      logLevel: 'silent',
      allowNetworks: ['127.0.0.0/8'],
      otelExporterUrl: otlp.url,
    });
    t.after(() => herald.close());
    await herald.start();
    const { appId } = await createAppWithEndpoint(herald, 'lib-sqlite', receiver.endpoint('/lib'));
    const message = await inHostSpan(() =>
      herald.publish({ appId, eventType: 'order.paid', payload: { n: 1 } }),
    );
    const stored = await herald.store.getMessage(appId, message.id);
    assert.match(String(stored?.traceContext?.traceparent), new RegExp(`^00-${HOST_TRACE}-`));
    await assertJoinsHostTrace(herald, receiver, otlp, '/lib', message.id);
  });

  describePostgres('on PostgreSQL', () => {
    it('publish(client, message) inside the caller transaction', async (t) => {
      const schema = uniqueSchema('libtrace');
      const herald = await createPostgresHerald({
        postgresSchema: schema,
        role: 'all',
        otelExporterUrl: otlp.url,
      });
      const client = await connectApplication();
      t.after(async () => {
        await client.end();
        await herald.close();
        await dropSchema(schema);
      });
      await herald.start();
      await createAppWithEndpoint(herald, 'lib-pg', receiver.endpoint('/lib-pg'));
      await client.query('BEGIN');
      const message = await inHostSpan(() =>
        herald.publish(client, { appId: 'lib-pg', eventType: 'order.paid', payload: { n: 2 } }),
      );
      await client.query('COMMIT');
      await assertJoinsHostTrace(herald, receiver, otlp, '/lib-pg', message.id);
    });
  });
});
