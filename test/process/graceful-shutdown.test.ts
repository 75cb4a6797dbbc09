import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import {
  type HeraldExit,
  type HeraldProcess,
  makeTempDir,
  startHeraldProcess,
} from '../helpers/herald-process.ts';
import { expectStatus, HeraldClient } from './api-client.ts';
import { type Behaviour, startReceiver } from './receiver.ts';

/** Time allowed on top of the shutdown deadline for closing the store and exiting. */
const EXIT_SLACK_MS = 3000;

/** Resolves with the exit, or rejects if the process is still running after `timeoutMs`. */
async function exitWithin(herald: HeraldProcess, timeoutMs: number): Promise<HeraldExit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`Herald still running ${timeoutMs} ms after SIGTERM\n${herald.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([herald.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a new TCP connection to the address is refused. */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * Polls (bounded) until new connections are refused: nothing outside the process announces that
 * the listener closed, so there is no event to await.
 */
async function waitUntilRefused(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await connectionRefused(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${url} still accepted connections ${timeoutMs} ms after SIGTERM`);
}

interface Scenario {
  herald: HeraldProcess;
  client: HeraldClient;
  appId: string;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
  dbPath: string;
}

/** Receiver, Herald on a fresh database, an application with one endpoint; cleaned up after the test. */
async function setUp(
  t: { after(fn: () => Promise<void>): void },
  behaviour: Behaviour,
  env: Record<string, string>,
): Promise<Scenario> {
  const dir = await makeTempDir('herald-shutdown-');
  const dbPath = `${dir.path}/herald.db`;
  const receiver = await startReceiver(behaviour);
  const herald = await startHeraldProcess({ dbPath, env });
  const client = new HeraldClient(herald.url);
  const scenario: Scenario = { herald, client, appId: '', receiver, dbPath };
  t.after(async () => {
    await scenario.client.close();
    scenario.herald.kill('SIGKILL');
    await scenario.herald.exited;
    await receiver.close();
    await dir.remove();
  });
  scenario.appId = (await client.createAppWithEndpoint(receiver.url)).appId;
  return scenario;
}

/** Publishes `count` messages concurrently; resolves with their ids once all got a 202. */
async function publishMany(s: Scenario, count: number): Promise<string[]> {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, seq) => s.client.publish(s.appId, { seq })),
  );
  return responses.map((res) => {
    expectStatus(res, 202, 'publish');
    return res.body.id as string;
  });
}

/** Restarts Herald on the same database and points the scenario's client at it. */
async function restart(s: Scenario, env: Record<string, string>): Promise<void> {
  await s.client.close();
  s.herald = await startHeraldProcess({ dbPath: s.dbPath, env });
  s.client = new HeraldClient(s.herald.url);
}

async function attemptsOf(s: Scenario, msgId: string): Promise<Array<{ status: number }>> {
  const res = await s.client.call('GET', `/api/v1/app/${s.appId}/attempt/msg/${msgId}`);
  expectStatus(res, 200, `list attempts of ${msgId}`);
  return res.body.data;
}

describe('graceful shutdown (SIGTERM)', () => {
  it('finishes in-flight deliveries, stops listening, and exits 0', {
    timeout: 60_000,
  }, async (t) => {
    const env = { HERALD_SHUTDOWN_TIMEOUT_MS: '5000' };
    const s = await setUp(t, () => ({ holdMs: 500 }), env);
    // Published together, so they are claimed and sent together.
    const ids = await publishMany(s, 5);
    await s.receiver.waitFor(
      () => s.receiver.inFlight() > 0,
      10_000,
      () => 'no delivery reached the receiver',
    );
    // Our own idle keep-alive connections are not what this test is about.
    await s.client.close();

    const sigtermAt = performance.now();
    s.herald.kill('SIGTERM');
    const inFlightAtSigterm = s.receiver.inFlightIds();
    await waitUntilRefused(s.herald.url, 2000);
    const inFlightWhenRefused = s.receiver.inFlight();
    const exit = await exitWithin(s.herald, 5000 + EXIT_SLACK_MS);
    t.diagnostic(
      `exited ${Math.round(performance.now() - sigtermAt)} ms after SIGTERM; ` +
        `${inFlightAtSigterm.length} of ${ids.length} deliveries were in flight`,
    );

    assert.deepEqual(exit, { code: 0, signal: null }, s.herald.output());
    assert.ok(
      inFlightWhenRefused > 0,
      'the listener should close before the in-flight deliveries finish',
    );
    assert.equal(s.receiver.abandoned(), 0, 'Herald dropped a delivery the receiver was answering');
    for (const id of inFlightAtSigterm) {
      assert.equal(s.receiver.delivered.get(id), 1, `${id} was in flight: answered once`);
    }

    await restart(s, env);
    for (const id of inFlightAtSigterm) {
      const attempts = await attemptsOf(s, id);
      assert.deepEqual(
        attempts.map((a) => a.status),
        [0],
        `${id}: its one successful attempt was recorded before exit`,
      );
    }
    // Whatever was not sent yet goes out after the restart; nothing goes out twice.
    await s.receiver.waitFor(
      () => ids.every((id) => s.receiver.delivered.has(id)),
      10_000,
      () => `not delivered after restart: ${ids.filter((id) => !s.receiver.delivered.has(id))}`,
    );
    // A message published now goes out after anything the restart would wrongly resend.
    const [sentinel = ''] = await publishMany(s, 1);
    await s.receiver.waitFor(
      () => s.receiver.delivered.has(sentinel),
      10_000,
      () => 'sentinel message not delivered after restart',
    );
    for (const id of ids) assert.equal(s.receiver.requested.get(id), 1, `${id} was sent again`);
    assert.deepEqual(await s.herald.stop(), { code: 0, signal: null }, s.herald.output());
  });

  it('delivers after restart a delivery still running at the shutdown deadline', {
    timeout: 60_000,
  }, async (t) => {
    // The first request for each message hangs; later ones are answered at once.
    const env = { HERALD_SHUTDOWN_TIMEOUT_MS: '500', HERALD_DELIVERY_TIMEOUT_MS: '5000' };
    const s = await setUp(t, (_id, previous) => (previous === 0 ? 'hang' : { holdMs: 0 }), env);
    const [id = ''] = await publishMany(s, 1);
    await s.receiver.waitFor(
      () => s.receiver.inFlight() === 1,
      10_000,
      () => 'the delivery never reached the receiver',
    );

    s.herald.kill('SIGTERM');
    const exit = await exitWithin(s.herald, 500 + EXIT_SLACK_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, s.herald.output());
    assert.equal(s.receiver.delivered.has(id), false);

    await restart(s, env);
    await s.receiver.waitFor(
      () => s.receiver.delivered.has(id),
      30_000,
      () => `${id} not delivered after restart (requests so far: ${s.receiver.requested.get(id)})`,
    );
    const attempts = await attemptsOf(s, id);
    assert.ok(
      attempts.some((a) => a.status === 0),
      `a successful attempt is recorded: ${JSON.stringify(attempts)}`,
    );
    assert.deepEqual(await s.herald.stop(), { code: 0, signal: null }, s.herald.output());
  });
});
