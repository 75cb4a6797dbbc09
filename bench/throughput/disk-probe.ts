import Database from 'better-sqlite3';

/**
 * How many durable SQLite commits per second the disk allows right now: one ~1 KB row per
 * transaction, WAL mode, the given `synchronous` setting, for about `durationMs`. Herald's
 * durable path (a commit per publish, per claim batch, per completion batch) cannot beat this,
 * and on shared machines it moves a lot (0.1 ms to several ms per sync), so the bench reports
 * it next to Herald's figures.
 */
export function probeCommitsPerSecond(
  path: string,
  synchronous: 'full' | 'normal',
  durationMs = 1000,
): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO probe (body) VALUES (?)');
    const commit = db.transaction((body: string) => insert.run(body));
    const body = 'x'.repeat(1000);
    const started = performance.now();
    let commits = 0;
    while (performance.now() - started < durationMs && commits < 100_000) {
      commit.immediate(body);
      commits++;
    }
    return (commits * 1000) / (performance.now() - started);
  } finally {
    db.close();
  }
}
