import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HeraldProcess, makeTempDir, startHeraldProcess } from '../helpers/herald-process.ts';
import { HeraldClient } from './api-client.ts';
import { startReceiver } from './receiver.ts';
import { seededRandom, seedFromEnv } from './seeded-random.ts';

const ROUNDS = 6;
const PUBLISHERS = 32;
/** Bounds each round even if the kill came late. */
const MAX_PUBLISHES_PER_ROUND = 4000;
/** The kill comes this long after the round's first 202, so it lands while Herald is busy. */
const KILL_DELAY_MIN_MS = 10;
const KILL_DELAY_SPREAD_MS = 400;
/** A round whose Herald accepts nothing for this long is killed anyway. */
const FIRST_ACCEPT_TIMEOUT_MS = 10_000;
const FINAL_DELIVERY_TIMEOUT_MS = 30_000;

/**
 * A fast retry schedule, so a delivery that failed because Herald died is retried soon, and a
 * short delivery timeout, so a lease the killed process held would lapse soon even if a restart
 * did not hand claims back by itself (today it does, at start).
 */
const HERALD_ENV = { HERALD_DELIVERY_TIMEOUT_MS: '2000', HERALD_RETRY_SCHEDULE: '1,1,1,1,1' };

interface Unexpected {
  round: number;
  what: string;
}

describe('crash recovery (kill -9)', () => {
  it('delivers every message that got a 202, across repeated SIGKILLs', {
    timeout: 120_000,
  }, async (t) => {
    const seed = seedFromEnv('HERALD_CRASH_SEED');
    const random = seededRandom(seed);
    const banner = `crash-recovery seed=${seed} (replay with HERALD_CRASH_SEED=${seed})`;
    console.log(banner);
    t.diagnostic(banner);

    const dir = await makeTempDir('herald-crash-');
    const dbPath = `${dir.path}/herald.db`;
    const receiver = await startReceiver();
    let herald: HeraldProcess | undefined;
    t.after(async () => {
      herald?.kill('SIGKILL');
      await herald?.exited;
      await receiver.close();
      await dir.remove();
    });

    const accepted = new Set<string>();
    const unexpected: Unexpected[] = [];
    let appId: string | undefined;
    let errorsWhileDying = 0;
    let fivexxWhileDying = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      herald = await startHeraldProcess({ dbPath, env: HERALD_ENV });
      const client = new HeraldClient(herald.url, 16);
      if (appId === undefined) {
        appId = (await client.createAppWithEndpoint(receiver.url)).appId;
      }
      const app = appId;
      const current = herald;
      const killDelayMs = KILL_DELAY_MIN_MS + Math.floor(random() * KILL_DELAY_SPREAD_MS);
      let dying = false;
      let published = 0;
      let acceptedThisRound = 0;
      let firstAccepted = () => {};
      const firstAcceptance = new Promise<void>((resolve) => {
        firstAccepted = resolve;
      });

      const publisher = async (worker: number) => {
        while (!dying && published < MAX_PUBLISHES_PER_ROUND) {
          const seq = published++;
          try {
            const res = await client.publish(app, { round, worker, seq });
            if (res.status === 202 && typeof res.body?.id === 'string') {
              accepted.add(res.body.id);
              acceptedThisRound++;
              firstAccepted();
            } else if (dying) {
              if (res.status >= 500) fivexxWhileDying++;
            } else {
              unexpected.push({ round, what: `${res.status} ${JSON.stringify(res.body)}` });
            }
          } catch (error) {
            if (dying) errorsWhileDying++;
            else unexpected.push({ round, what: `request error: ${(error as Error).message}` });
          }
        }
      };
      const publishing = Promise.all(Array.from({ length: PUBLISHERS }, (_, w) => publisher(w)));
      let noAcceptTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        firstAcceptance,
        new Promise((resolve) => {
          noAcceptTimer = setTimeout(resolve, FIRST_ACCEPT_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(noAcceptTimer);
      // The chaos schedule itself, not a synchronisation: kill at a seeded random moment.
      await new Promise((resolve) => setTimeout(resolve, killDelayMs));
      dying = true;
      current.kill('SIGKILL');
      const exit = await current.exited;
      await publishing;
      await client.close();
      assert.equal(
        exit.signal,
        'SIGKILL',
        `round ${round}: Herald ended by itself\n${current.output()}`,
      );
      const line = `round ${round}: killed ${killDelayMs} ms after the first 202; ${acceptedThisRound} accepted of ${published} sent`;
      // Progress as it happens (diagnostics only print when the test ends).
      console.log(line);
    }

    assert.deepEqual(
      unexpected.slice(0, 10),
      [],
      'every response before the kill must be a 202, and no request may fail while Herald is up',
    );
    assert.ok(accepted.size > 0, 'no message was accepted in any round: nothing was tested');

    herald = await startHeraldProcess({ dbPath, env: HERALD_ENV });
    const missing = () => [...accepted].filter((id) => !receiver.delivered.has(id));
    try {
      await receiver.waitFor(
        () => missing().length === 0,
        FINAL_DELIVERY_TIMEOUT_MS,
        () =>
          `${missing().length} of ${accepted.size} accepted messages never delivered, e.g. ${missing().slice(0, 5).join(', ')}`,
      );
    } catch (error) {
      assert.fail(`${(error as Error).message}\n${herald.output()}`);
    }

    let duplicates = 0;
    let unacknowledged = 0;
    for (const [id, count] of receiver.delivered) {
      duplicates += count - 1;
      if (!accepted.has(id)) unacknowledged++;
    }
    const summary =
      `accepted=${accepted.size} delivered=${receiver.delivered.size} duplicates=${duplicates} ` +
      `delivered-without-202=${unacknowledged} errors-while-dying=${errorsWhileDying} ` +
      `5xx-while-dying=${fivexxWhileDying}`;
    console.log(summary);
    t.diagnostic(summary);
    assert.deepEqual(missing(), []);

    const exit = await herald.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, herald.output());
  });
});
