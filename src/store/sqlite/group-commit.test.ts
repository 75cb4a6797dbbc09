import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { groupCommit } from './group-commit.ts';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const unit = db.transaction((input: { k: string; v: number; fail?: boolean }) => {
    insert.run(input.k, input.v);
    // A write made before the failure must be rolled back with it, and only it.
    insert.run(`${input.k}-extra`, input.v);
    if (input.fail) throw new Error(`refused ${input.k}`);
    return input.v * 2;
  });
  return { db, write: groupCommit(db, unit, 3) };
}

describe('groupCommit', () => {
  it('writes concurrent calls together and settles each on its own', async () => {
    const { db, write } = setup();
    const results = await Promise.allSettled([
      write({ k: 'a', v: 1 }),
      write({ k: 'b', v: 2, fail: true }),
      write({ k: 'c', v: 3 }),
      write({ k: 'a', v: 4 }), // duplicate key: a constraint error for this call only
      write({ k: 'd', v: 5 }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((results[0] as PromiseFulfilledResult<number>).value, 2);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /refused b/);
    const keys = (db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map(
      (r) => r.k,
    );
    assert.deepEqual(keys, ['a', 'a-extra', 'c', 'c-extra', 'd', 'd-extra']);
    assert.equal(db.inTransaction, false);
  });

  it('answers a call only after its batch is committed', async () => {
    const { db, write } = setup();
    const pending = write({ k: 'x', v: 1 });
    // Nothing is written until the event loop turns.
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0);
    await pending;
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 2);
  });
});
