import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteDatabase, withoutCommitSync } from './database.ts';

describe('openSqliteDatabase', () => {
  it('opens a file in WAL mode with the configured durability, and migrates it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-db-'));
    try {
      const db = openSqliteDatabase({ path: join(dir, 'nested', 'h.db'), synchronous: 'full' });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
      assert.ok(versions.length >= 1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('withoutCommitSync', () => {
  it('commits without a disk sync and restores the configured level, even on error', () => {
    const db = openSqliteDatabase({ path: ':memory:', synchronous: 'full' });
    const seen = withoutCommitSync(db, () => db.pragma('synchronous', { simple: true }));
    assert.equal(seen, 1);
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    assert.throws(() =>
      withoutCommitSync(db, () => {
        throw new Error('boom');
      }),
    );
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    db.close();
  });

  it('leaves a normal connection as it is', () => {
    const db = openSqliteDatabase({ path: ':memory:', synchronous: 'normal' });
    assert.equal(
      withoutCommitSync(db, () => db.pragma('synchronous', { simple: true })),
      1,
    );
    assert.equal(db.pragma('synchronous', { simple: true }), 1);
    db.close();
  });
});
