// GET /metrics renders at most about once a second however often it is scraped: concurrent
// scrapes share one render, and the text is reused for a second. On the backend under test.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import Fastify from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import { createNodeMetrics } from '../../src/observability/metrics.ts';
import type { Store } from '../../src/store/store.ts';
import { silentLogger } from '../delivery/fixtures.ts';
import { makeTestStore, testBackend } from '../helpers/backend.ts';

describe(`GET /metrics: shared renders (${testBackend})`, () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('shares one render among concurrent scrapes and reuses its text for a second', async () => {
    store = await makeTestStore();
    // The pool gauges read the pool on every render (three reads): a render counter.
    let poolReads = 0;
    store.poolStats = () => {
      poolReads++;
      return { total: 1, idle: 1, waiting: 0, max: 1 };
    };
    const clock = { now: 0 };
    const metrics = createNodeMetrics({
      config: loadConfig({ env: { HERALD_DATABASE_URL: 'sqlite::memory:' } }),
      logger: silentLogger,
      store,
      monotonicNow: () => clock.now,
    });
    const renders = () => poolReads / 3;

    const texts = await Promise.all(Array.from({ length: 5 }, () => metrics.render()));
    assert.equal(renders(), 1, 'five concurrent scrapes, one render');
    assert.equal(new Set(texts.map((t) => t.text)).size, 1);

    // Through the route: scraping counts a request, yet within the second the text stays.
    const app = Fastify();
    metrics.registerApi(app);
    await app.ready();
    try {
      const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
      clock.now += 999;
      const first = await scrape();
      assert.equal(await scrape(), first);
      assert.equal(renders(), 1);
      assert.doesNotMatch(first, /herald_http_request_duration_seconds_count\{route="\/metrics"/);
      clock.now += 1;
      const later = await scrape();
      assert.equal(renders(), 2, 'rendered again after a second');
      assert.match(
        later,
        /herald_http_request_duration_seconds_count\{route="\/metrics",method="GET",status_class="2xx"\} 2\n/,
      );
    } finally {
      await app.close();
    }
  });
});
