import type Database from 'better-sqlite3';

type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> {
  input: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: calls made in the same turn of the event loop are written in ONE transaction,
 * so many concurrent publishes share one commit (one fsync with synchronous=FULL) instead of
 * paying one each. Each call still succeeds or fails on its own: `unit` must be a
 * `db.transaction(...)` function, which better-sqlite3 runs as a SAVEPOINT when nested, so a
 * failing call (a duplicate eventId, say) rolls back only its own writes. No caller is answered
 * before the shared commit is done.
 */
export function groupCommit<I, O>(
  db: Database.Database,
  unit: (input: I) => O,
  maxBatch = 1000,
): (input: I) => Promise<O> {
  let waiting: Waiting<I, O>[] = [];
  let scheduled = false;

  const runBatch = db.transaction((inputs: readonly I[]): Settled<O>[] =>
    inputs.map((input) => {
      try {
        return { ok: true, value: unit(input) };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );

  function flush(): void {
    scheduled = false;
    while (waiting.length > 0) {
      const batch = waiting.length <= maxBatch ? waiting : waiting.slice(0, maxBatch);
      waiting = waiting.length <= maxBatch ? [] : waiting.slice(maxBatch);
      let settled: Settled<O>[];
      try {
        settled = runBatch.immediate(batch.map((w) => w.input));
      } catch (error) {
        // The commit itself failed: nothing of this batch was written.
        for (const w of batch) w.reject(error);
        continue;
      }
      batch.forEach((w, i) => {
        const result = settled[i];
        if (result === undefined) w.reject(new Error('group commit lost a result'));
        else if (result.ok) w.resolve(result.value);
        else w.reject(result.error);
      });
    }
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
