import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pollUntil } from '../../../test/helpers/poll-until.ts';
import { startWalCheckpointer } from './wal-checkpointer.ts';

describe('startWalCheckpointer', () => {
  it('moves committed pages into the database file off the main connection, and stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-ckpt-'));
    const path = join(dir, 'h.db');
    try {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      // The main connection never checkpoints here: only the worker can fill the file.
      db.pragma('wal_autocheckpoint = 0');
      db.exec('CREATE TABLE t (v TEXT NOT NULL)');
      const before = statSync(path).size;
      const checkpointer = startWalCheckpointer({ path, intervalMs: 10 });
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 500; i++) insert.run('x'.repeat(1000));
      })();
      await pollUntil(() => statSync(path).size > before + 400_000, {
        timeoutMs: 30_000,
        describe: () => `database file still ${statSync(path).size} bytes`,
      });
      await checkpointer.stop();
      await checkpointer.stop();
      // Every frame was backfilled, and the worker's connection is gone (a RESTART checkpoint
      // would be busy if it still held the WAL).
      const [result] = db.pragma('wal_checkpoint(RESTART)') as {
        busy: number;
        log: number;
        checkpointed: number;
      }[];
      assert.equal(result?.busy, 0);
      assert.equal(result?.checkpointed, result?.log);
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 500);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
