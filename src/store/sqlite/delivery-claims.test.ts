import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createRecordBuilders } from '../contract/record-builders.ts';
import { openSqliteStore } from './sqlite-store.ts';

const T0 = Date.UTC(2030, 0, 1);

describe('SQLite claims', () => {
  it('a fresh claim that finds nothing to claim does not wait for the write lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-claims-'));
    const path = join(dir, 'h.db');
    const store = openSqliteStore({ path, synchronous: 'full' });
    const other = new Database(path);
    try {
      const build = createRecordBuilders(() => T0);
      const app = build.anApplication({ name: 'claims' });
      await store.insertApplication(app);
      const busy = build.anEndpoint(app.id, { eventTypes: ['none'] });
      await store.insertEndpoint(busy);
      const { message } = await store.createMessage(build.aNewMessage(build.aMessage(app.id)));
      await store.insertDeliveries([
        build.aDelivery({ msgId: message.id, endpointId: busy.id, appId: app.id }, { dueAt: T0 }),
      ]);
      // Another connection holds the write lock (a long publish, a checkpoint, a tool).
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const claimed = await store.claimDueDeliveries({
        now: T0 + 1000,
        limit: 100,
        leaseMs: 60_000,
        // The only due delivery belongs to an endpoint left out: nothing to claim.
        excludeEndpointIds: [busy.id],
      });
      assert.deepEqual(claimed, []);
      // Waiting for the lock would take the busy timeout (5 s), then fail.
      assert.ok(performance.now() - started < 1000, 'answered without the write lock');
      other.exec('ROLLBACK');
      const taken = await store.claimDueDeliveries({
        now: T0 + 1000,
        limit: 100,
        leaseMs: 60_000,
        excludeEndpointIds: [],
      });
      assert.equal(taken.length, 1);
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
