// HERALD_SHUTDOWN_DRAIN_DELAY_MS: on close, readiness answers 503 for the delay while the
// listener still accepts connections, so a load balancer stops sending before it closes.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { startHerald } from '../../src/server.ts';
import { silentLogger } from '../delivery/fixtures.ts';
import { makeTestStore, testBackend } from '../helpers/backend.ts';
import { TEST_ALLOW_NETWORKS } from '../helpers/herald-process.ts';

const DRAIN_DELAY_MS = 2_000;

/** GET on a fresh connection (no keep-alive pool): shows the listener still accepts. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe(`readiness drain delay on shutdown (${testBackend})`, () => {
  it('answers 503 on readiness for the delay while still serving, then closes', async () => {
    const config = loadConfig({
      env: {
        HERALD_DATABASE_URL: 'sqlite::memory:',
        HERALD_ADMIN_TOKEN: 'sk_drain_test_admin_token',
        HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
        HERALD_HOST: '127.0.0.1',
        HERALD_PORT: '0',
        HERALD_SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      },
    });
    const running = await startHerald(config, silentLogger, { store: await makeTestStore() });
    const base = running.url;
    assert.ok(base !== undefined && running.app !== undefined);
    assert.equal((await get(`${base}/api/v1/health/ready`)).status, 204);
    let listenerClosedAt: number | undefined;
    running.app.server.once('close', () => {
      listenerClosedAt = performance.now();
    });

    const closeStarted = performance.now();
    const closing = running.close();
    try {
      // Well within the delay (a few milliseconds on loopback), on new connections.
      const ready = await get(`${base}/api/v1/health/ready`);
      assert.equal(ready.status, 503, ready.body);
      assert.match(ready.body, /shutting down/);
      assert.equal((await get(`${base}/api/v1/health/live`)).status, 204);
    } finally {
      await closing;
    }
    assert.ok(listenerClosedAt !== undefined, 'the listener closed');
    assert.ok(
      listenerClosedAt - closeStarted >= DRAIN_DELAY_MS - 50,
      `the listener closed ${Math.round(listenerClosedAt - closeStarted)} ms after close()`,
    );
    await assert.rejects(get(`${base}/api/v1/health/ready`), { code: 'ECONNREFUSED' });
  });
});
