// Scraping real `herald serve` processes: a worker group, which has no API, through its
// metrics listener (--metrics-port), answering for the whole group whichever process the
// connection reaches; and an api node on its API port.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { it } from 'node:test';
import { describePostgres } from '../helpers/backend.ts';
import type { HeraldProcess } from '../helpers/herald-process.ts';
import { parseMetrics } from '../helpers/metrics.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import { postgresProcessSuite } from '../helpers/postgres-process-suite.ts';
import { expectStatus, HeraldClient } from './api-client.ts';

/** One GET on a connection of its own, so a `--workers` group may hand it to any process. */
function getOnFreshConnection(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls the process output (bounded) until `pattern` matches. */
async function outputMatch(herald: HeraldProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let match: RegExpExecArray | null = null;
  await pollUntil(
    () => {
      match = pattern.exec(herald.output());
      return match !== null;
    },
    { timeoutMs: 15_000, intervalMs: 20, describe: () => `${pattern}\n${herald.output()}` },
  );
  return match as unknown as RegExpExecArray;
}

describePostgres('metrics of herald serve processes (PostgreSQL)', () => {
  const suite = postgresProcessSuite('metrics');
  const { start } = suite;

  it('a --role worker --workers 2 group answers /metrics on its metrics port for the whole group', {
    timeout: 90_000,
  }, async () => {
    // The api node first: it migrates the schema.
    const apiNode = await start(['--role', 'api']);
    const workers = await start(['--role', 'worker', '--workers', '2', '--metrics-port', '0']);
    const [, metricsUrl] = await outputMatch(workers, /Metrics: +(http:\/\/\S+\/metrics)\r?\n/);
    assert.ok(metricsUrl !== undefined);
    const base = metricsUrl.slice(0, -'/metrics'.length);
    const client = new HeraldClient(apiNode.url);
    try {
      const { appId } = await client.createAppWithEndpoint(suite.receiver.endpoint('/group'));
      const disabled = await client.call('POST', `/api/v1/app/${appId}/endpoint`, {
        url: suite.receiver.endpoint('/disabled'),
        disabled: true,
      });
      expectStatus(disabled, 201, 'create a disabled endpoint');
      const count = 20;
      for (let n = 0; n < count; n++)
        expectStatus(await client.publish(appId, { n }), 202, 'publish');
      await suite.receiver.waitForRequests(count, { path: '/group', timeoutMs: 30_000 });

      const success = 'herald_deliveries_total{outcome="success"}';
      let last = '';
      await pollUntil(
        async () => {
          const res = await getOnFreshConnection(metricsUrl);
          last = res.body;
          return res.status === 200 && parseMetrics(res.body).get(success) === count;
        },
        { timeoutMs: 15_000, intervalMs: 100, describe: () => last },
      );
      // Every scrape, whichever process takes the connection, counts the whole group's
      // deliveries (answering for itself alone, each process would count only its own).
      for (let i = 0; i < 6; i++) {
        const res = await getOnFreshConnection(metricsUrl);
        assert.equal(res.status, 200);
        const samples = parseMetrics(res.body);
        assert.equal(samples.get(success), count, `scrape ${i}`);
        // The database's own numbers are not multiplied by the number of processes...
        assert.equal(samples.get('herald_endpoints{state="disabled"}'), 1);
        // ...while each process's pool is its own, and adds up.
        assert.equal(samples.get('herald_db_pool_max_connections'), 8);
      }
      assert.equal((await getOnFreshConnection(`${base}/api/v1/health`)).status, 204);
      const api = await getOnFreshConnection(`${base}/api/v1/app`);
      assert.equal(api.status, 404, 'the metrics listener serves no API');

      // The api node answers on its API port, for what it did: it took the publishes.
      const apiMetrics = await getOnFreshConnection(`${apiNode.url}/metrics`);
      assert.equal(apiMetrics.status, 200);
      const apiSamples = parseMetrics(apiMetrics.body);
      assert.equal(
        apiSamples.get(
          'herald_http_request_duration_seconds_count{route="/api/v1/app/:app_id/msg",method="POST",status_class="2xx"}',
        ),
        count,
      );
      assert.equal(apiSamples.get(success), 0, 'an api node delivers nothing');

      assert.deepEqual(await workers.stop(), { code: 0, signal: null });
      assert.deepEqual(await apiNode.stop(), { code: 0, signal: null });
    } finally {
      await client.close();
    }
  });
});
