/**
 * The limit: what this machine does over loopback HTTP with no queue and no storage. publish()
 * POSTs the payload straight to every destination (in parallel) through a bare undici Pool per
 * origin, with `webhook-id: <message id>`, and resolves once each answered; publishBulk() is the
 * same POSTs for every message of the chunk, since there is nothing to enqueue. Nothing is
 * stored, so a paused start means nothing (the backlog workload skips it) and there is no
 * process of its own (pids() is empty).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import type { BenchMessage, Contender, ContenderInstance } from '../contender.ts';

const UNDICI_VERSION = (() => {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('undici/package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
})();

interface Destination {
  readonly pool: Pool;
  readonly path: string;
}

function startLimit(connections: number): ContenderInstance {
  const pools = new Map<string, Pool>();
  let destinations: Destination[] = [];
  const poolFor = (origin: string) => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections, keepAliveTimeout: 60_000 });
      pools.set(origin, pool);
    }
    return pool;
  };
  const post = async (destination: Destination, message: BenchMessage) => {
    const res = await destination.pool.request({
      method: 'POST',
      path: destination.path,
      headers: { 'content-type': 'application/json', 'webhook-id': message.id },
      body: message.payload,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new Error(`POST ${destination.path}: ${res.statusCode}`);
    }
  };
  const publish = async (message: BenchMessage) => {
    await Promise.all(destinations.map((destination) => post(destination, message)));
  };
  return {
    async configure(urls) {
      destinations = urls.map((url) => {
        const parsed = new URL(url);
        return { pool: poolFor(parsed.origin), path: `${parsed.pathname}${parsed.search}` };
      });
    },
    publish,
    async publishBulk(messages) {
      await Promise.all(messages.map(publish));
    },
    async resume() {},
    pids: () => [],
    async stop() {
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
      pools.clear();
    },
  };
}

export const limitContender: Contender = {
  name: 'limit',
  usesPostgres: false,
  describe: async () =>
    `bare undici ${UNDICI_VERSION} Pool per origin (--concurrency connections), no queue, no storage`,
  start: async (env) => startLimit(env.concurrency ?? 64),
};
