import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HeraldError } from '../../src/errors.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';

interface Details {
  status: string;
  ready: boolean;
  shuttingDown: boolean;
  database: { status: string; backend: string; latencyMs: number | null };
  dispatcher: { status: string };
  code?: string;
  detail?: string;
}

describe(`health, readiness and liveness (${testBackend})`, () => {
  let api: TestApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function start(env?: Record<string, string>): Promise<TestApi> {
    api = await createTestApi(env === undefined ? {} : { env });
    return api;
  }

  const get = (t: TestApi, url: string) => t.request('GET', url, undefined, { token: null });

  it('answers 204 (Svix), ready, live and details when all is well, without a token', async () => {
    const t = await start();
    for (const url of ['/api/v1/health', '/api/v1/health/ready', '/api/v1/health/live']) {
      const res = await get(t, url);
      assert.equal(res.statusCode, 204, `${url}: ${res.body}`);
      assert.equal((await t.request('HEAD', url, undefined, { token: null })).statusCode, 204);
    }
    const details = await get(t, '/api/v1/health/details');
    assert.equal(details.statusCode, 200, details.body);
    const body = details.json() as Details;
    assert.deepEqual(
      { ...body, database: { ...body.database, latencyMs: typeof body.database.latencyMs } },
      {
        status: 'ok',
        ready: true,
        shuttingDown: false,
        database: { status: 'up', backend: testBackend, latencyMs: 'number' },
        dispatcher: { status: 'running' },
      },
    );
  });

  it('reports a database that fails: 503 health, ready and details; live stays 204', async () => {
    const t = await start();
    t.store.ping = async () => {
      throw new HeraldError('service_unavailable', 'the database is away');
    };
    for (const url of ['/api/v1/health', '/api/v1/health/ready']) {
      const res = await get(t, url);
      assert.equal(res.statusCode, 503, `${url}: ${res.body}`);
      assert.deepEqual(res.json(), {
        code: 'service_unavailable',
        detail: 'The database does not answer.',
      });
    }
    assert.equal((await get(t, '/api/v1/health/live')).statusCode, 204);
    const details = await get(t, '/api/v1/health/details');
    assert.equal(details.statusCode, 503);
    const body = details.json() as Details;
    assert.equal(body.code, 'service_unavailable');
    assert.equal(body.status, 'unavailable');
    assert.equal(body.ready, false);
    assert.deepEqual(body.database, { status: 'down', backend: testBackend, latencyMs: null });
  });

  it('bounds a database that does not answer, and shares one check among concurrent callers', async () => {
    // 1000 ms: the check gives up after half of it, well before the request's own timeout.
    const t = await start({ HERALD_REQUEST_TIMEOUT_MS: '1000' });
    let pings = 0;
    let release: () => void = () => {};
    const hanging = new Promise<void>((resolve) => {
      release = resolve;
    });
    t.store.ping = () => {
      pings++;
      return hanging;
    };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        get(t, i % 2 ? '/api/v1/health' : '/api/v1/health/ready'),
      ),
    );
    release();
    // Not the request timeout's 503: the check itself gave up and said why.
    assert.deepEqual(
      new Set(answers.map((r) => `${r.statusCode} ${(r.json() as { detail: string }).detail}`)),
      new Set(['503 The database does not answer.']),
    );
    assert.equal(pings, 1, 'one database round trip for twenty checks');
  });

  it('reports a stopped dispatcher in health and details but not in readiness', async () => {
    const t = await start();
    Object.assign(t.ctx, { dispatcherRunning: () => false });
    const health = await get(t, '/api/v1/health');
    assert.equal(health.statusCode, 503);
    assert.equal(
      (health.json() as { detail: string }).detail,
      'The delivery dispatcher is not running.',
    );
    assert.equal((await get(t, '/api/v1/health/ready')).statusCode, 204);
    const details = (await get(t, '/api/v1/health/details')).json() as Details;
    assert.deepEqual(details.dispatcher, { status: 'stopped' });
    assert.equal(details.ready, true);
  });

  it('says an api-role node has no dispatcher to report', async () => {
    // The configuration of an api node (it needs a PostgreSQL URL); the store is the test's.
    const t = await start({
      HERALD_ROLE: 'api',
      HERALD_DATABASE_URL: 'postgres://herald@127.0.0.1:5432/herald',
    });
    const details = await get(t, '/api/v1/health/details');
    assert.equal(details.statusCode, 200, details.body);
    assert.deepEqual((details.json() as Details).dispatcher, { status: 'not_in_this_process' });
  });

  it('turns unready and unhealthy once shutting down, and stays live', async () => {
    const t = await start();
    t.app.healthProbe.markShuttingDown();
    for (const url of ['/api/v1/health', '/api/v1/health/ready']) {
      const res = await get(t, url);
      assert.equal(res.statusCode, 503, url);
      assert.equal((res.json() as { detail: string }).detail, 'Herald is shutting down.');
    }
    assert.equal((await get(t, '/api/v1/health/live')).statusCode, 204);
  });
});
