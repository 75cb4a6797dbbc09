import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeliveryLog } from '../../src/delivery/delivery-log.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import { captureLogs } from '../helpers/log-capture.ts';
import { deliveriesOf, dispatcherSuite, type Harness, publish, seedEndpoint } from './fixtures.ts';

/** Waits until every delivery of `msgId` satisfies `done`. */
async function until(h: Harness, msgId: string, done: (status: number) => boolean) {
  await h.store.waitUntil(async () => {
    const deliveries = await deliveriesOf(h.store, msgId);
    return deliveries.length > 0 && deliveries.every((d) => done(d.status));
  });
}

describe('delivery log lines', () => {
  const suite = dispatcherSuite();

  it('logs failed attempts with message and attempt ids, never successes or URL secrets', async () => {
    const logs = captureLogs('debug');
    const h = await suite.start({
      env: { HERALD_RETRY_SCHEDULE: '0' },
      deps: { observer: createDeliveryLog(logs.logger) },
    });
    const base = h.receiver.url;
    h.receiver.endpoint('/flaky/path-secret-1', (r) =>
      r.nth === 1 ? { status: 500, body: 'down' } : { status: 200 },
    );
    h.receiver.endpoint('/gone', () => ({ status: 410 }));
    h.receiver.endpoint('/fine');
    const flaky = await seedEndpoint(
      h.store,
      h.seeded,
      `${base}/flaky/path-secret-1?api_key=query-secret-2`,
      { headers: { 'x-api-key': 'header-secret-3' } },
    );
    const gone = await seedEndpoint(h.store, h.seeded, `${base}/gone`);
    const fine = await seedEndpoint(h.store, h.seeded, `${base}/fine`);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    // Finished: a claimed delivery is `sending` until its outcome is recorded.
    await until(h, message.id, (s) => s === DeliveryStatus.success || s === DeliveryStatus.fail);

    const attempts = h.attempts();
    const failedFlaky = attempts.find((a) => a.endpointId === flaky.id && a.status !== 0);
    const goneAttempt = attempts.find((a) => a.endpointId === gone.id);
    assert.ok(failedFlaky !== undefined && goneAttempt !== undefined, JSON.stringify(attempts));
    assert.equal(attempts.filter((a) => a.endpointId === fine.id).length, 1);

    const lines = logs.lines();
    const retrying = lines.filter((l) => l.msg === 'delivery attempt failed; will retry');
    assert.equal(retrying.length, 1, logs.text());
    assert.equal(retrying[0]?.level, 30, 'info');
    assert.equal(retrying[0]?.msgId, message.id);
    assert.equal(retrying[0]?.attemptId, failedFlaky.id);
    assert.equal(retrying[0]?.endpointId, flaky.id);
    assert.equal(retrying[0]?.statusCode, 500);
    assert.equal(retrying[0]?.reason, 'server_error');
    assert.equal(retrying[0]?.target, base, 'only the origin of the URL');
    assert.equal(typeof retrying[0]?.nextAttemptAt, 'string');

    const failed = lines.filter((l) => l.msg === 'delivery failed for good');
    assert.equal(failed.length, 1, logs.text());
    assert.equal(failed[0]?.level, 40, 'warn');
    assert.equal(failed[0]?.attemptId, goneAttempt.id);
    assert.equal(failed[0]?.statusCode, 410);

    // Two successes (fine, and flaky's retry), no line for either.
    assert.equal(lines.length, 2, logs.text());
    for (const secret of ['path-secret-1', 'query-secret-2', 'header-secret-3']) {
      assert.ok(!logs.text().includes(secret), `${secret} leaked into the logs`);
    }
  });

  it('names the network error of an attempt that got no answer', async () => {
    const logs = captureLogs('debug');
    const h = await suite.start({
      env: { HERALD_RETRY_SCHEDULE: '0' },
      deps: { observer: createDeliveryLog(logs.logger) },
    });
    h.receiver.endpoint('/reset', () => ({ reset: true }));
    await seedEndpoint(h.store, h.seeded, `${h.receiver.url}/reset`);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await until(h, message.id, (s) => s === DeliveryStatus.fail);
    const lines = logs.lines();
    assert.deepEqual(
      lines.map((l) => [l.msg, l.statusCode, l.reason]),
      [
        ['delivery attempt failed; will retry', 0, 'network_error'],
        ['delivery failed for good', 0, 'network_error'],
      ],
      logs.text(),
    );
    assert.match(String(lines[1]?.error), /^Request failed/);
  });
});
