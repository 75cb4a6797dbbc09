import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describePostgres, POSTGRES_TEST_URL } from '../helpers/backend.ts';
import { type HeraldProcess, heraldEnv, PROCESS_ADMIN_TOKEN } from '../helpers/herald-process.ts';
import { postgresProcessSuite } from '../helpers/postgres-process-suite.ts';
import { expectStatus, HeraldClient } from './api-client.ts';

/** One GET on a connection of its own (so a `--workers` group may hand it to any process). */
function getOnFreshConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: false, headers: { authorization: `Bearer ${PROCESS_ADMIN_TOKEN}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Polls the process output (bounded) until `pattern` matches; returns the match. */
async function waitForOutput(
  herald: HeraldProcess,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpExecArray> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const match = pattern.exec(herald.output());
    if (match !== null) return match;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no output matching ${pattern} within ${timeoutMs} ms\n${herald.output()}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const HERALD_BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

/**
 * `herald serve` in a process group of its own (as under systemd or `tini -g`), so a signal to
 * the group reaches the primary and every process it forked at once.
 */
async function startInOwnGroup(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [HERALD_BIN, 'serve', ...args], {
    env: heraldEnv(POSTGRES_TEST_URL, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pid = child.pid;
  assert.ok(pid !== undefined);
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killGroup);
  return { pid, exited, output: () => output, killGroup };
}

describePostgres('herald serve --role and --workers (PostgreSQL)', () => {
  const suite = postgresProcessSuite('roles');
  const { env, start } = suite;

  it('an api node and a separate worker node deliver a published message', {
    timeout: 60_000,
  }, async () => {
    // The api node alone first: what it accepts waits for a worker (it has no dispatcher).
    // It is told to sign with the `webhook-*` headers and the worker with `svix-*`, so every
    // delivery shows which kind of node sent it.
    const apiNode = await start(['--role', 'api'], { HERALD_SIGNATURE_HEADERS: 'webhook' });
    assert.match(apiNode.output(), /Role: {5}api \(HTTP API only/);
    assert.match(apiNode.output(), /Database: postgres:\/\/.*\(schema roles_/);
    const client = new HeraldClient(apiNode.url);
    try {
      const health = await client.call('GET', '/api/v1/health');
      assert.equal(health.status, 204, 'an api node without a dispatcher is healthy');
      const { appId } = await client.createAppWithEndpoint(suite.receiver.endpoint('/split'));
      const early = await client.publish(appId, { seq: 1 });
      expectStatus(early, 202, 'publish before any worker runs');

      const workerNode = await start(['--role', 'worker'], { HERALD_SIGNATURE_HEADERS: 'svix' });
      assert.equal(workerNode.url, '', 'a worker node does not listen');
      assert.match(workerNode.output(), /Herald is delivering/);
      assert.match(workerNode.output(), /Role: {5}worker \(delivery only/);

      const late = await client.publish(appId, { seq: 2 });
      expectStatus(late, 202, 'publish with a worker running');
      const delivered = await suite.receiver.waitForRequests(2, {
        path: '/split',
        timeoutMs: 15_000,
      });
      assert.ok(
        delivered.every((r) => r.headers['webhook-id'] === undefined),
        'the api node sent nothing, not even the message it held alone before the worker started',
      );
      assert.deepEqual(
        delivered.map((r) => r.headers['svix-id']).sort(),
        [early.body.id, late.body.id].sort(),
      );

      assert.deepEqual(await workerNode.stop(), { code: 0, signal: null });
      assert.deepEqual(await apiNode.stop(), { code: 0, signal: null });
    } finally {
      await client.close();
    }
  });

  it('--workers 2 runs two processes on one port, replaces one that dies, and stops all on SIGTERM', {
    timeout: 90_000,
  }, async () => {
    const group = await start(['--role', 'api', '--workers', '2'], { HERALD_LOG_LEVEL: 'info' });
    const pids = /Processes: 2 \(pids (\d+), (\d+)\)/.exec(group.output());
    assert.ok(pids, `the banner lists both processes\n${group.output()}`);
    const [a, b] = [Number(pids[1]), Number(pids[2])];
    assert.notEqual(a, b);
    assert.ok(isAlive(a) && isAlive(b));
    const url = `${group.url}/api/v1/app`;
    for (let i = 0; i < 4; i++) assert.equal(await getOnFreshConnection(url), 200);

    // Kill A: once the primary saw it die, B alone answers (A's replacement waits >= 1 s).
    process.kill(a, 'SIGKILL');
    await waitForOutput(group, new RegExp(`"workerPid":${a},.*exited unexpectedly`));
    assert.equal(await getOnFreshConnection(url), 200, 'process B answers');
    const replaced = await waitForOutput(
      group,
      /"slot":0,"workerPid":(\d+),"msg":"replacement process ready"/,
    );
    const a2 = Number(replaced[1]);
    assert.notEqual(a2, a);

    // Kill B: A's replacement answers alone.
    process.kill(b, 'SIGKILL');
    await waitForOutput(group, new RegExp(`"workerPid":${b},.*exited unexpectedly`));
    assert.equal(await getOnFreshConnection(url), 200, "A's replacement answers");
    const b2 = Number(
      (
        await waitForOutput(group, /"slot":1,"workerPid":(\d+),"msg":"replacement process ready"/)
      )[1],
    );

    assert.deepEqual(await group.stop(), { code: 0, signal: null }, group.output());
    assert.ok(!isAlive(a2) && !isAlive(b2), 'every process of the group has exited');
  });

  it('--workers 2 drains and exits 0 when the whole process group gets SIGTERM at once', {
    timeout: 60_000,
  }, async () => {
    const group = await startInOwnGroup(['--role', 'all', '--workers', '2'], {
      ...env,
      HERALD_LOG_LEVEL: 'info',
      HERALD_SHUTDOWN_TIMEOUT_MS: '10000',
    });
    try {
      const deadline = performance.now() + 20_000;
      while (!/Processes: 2 \(pids \d+, \d+\)/.test(group.output())) {
        assert.ok(performance.now() < deadline, `no banner\n${group.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // What systemd's default stop, `kill -- -PGID` and `tini -g` do: every process at once.
      process.kill(-group.pid, 'SIGTERM');
      const exit = await group.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, group.output());
      assert.doesNotMatch(group.output(), /second signal/);
      assert.equal(group.output().match(/"msg":"stopped cleanly"/g)?.length, 2, group.output());
    } finally {
      group.killGroup();
    }
  });
});
