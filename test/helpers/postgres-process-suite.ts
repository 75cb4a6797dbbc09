import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { POSTGRES_TEST_URL, uniqueSchema } from './backend.ts';
import { withAdmin } from './herald-nodes.ts';
import { type HeraldProcess, startHeraldProcess } from './herald-process.ts';
import { startReceiver, type TestReceiver } from './receiver.ts';

export interface PostgresProcessSuite {
  /** The suite's settings: its own schema, and a pool small enough for several processes. */
  readonly env: Readonly<Record<string, string>>;
  /** The receiver every endpoint of the suite points at (started before the first test). */
  readonly receiver: TestReceiver;
  /** `herald serve <args>` on the suite's schema, with `extraEnv` on top; stopped after the suite. */
  start(args: string[], extraEnv?: Record<string, string>): Promise<HeraldProcess>;
}

/**
 * Call inside `describePostgres`: `herald serve` processes sharing one PostgreSQL schema named
 * after `prefix`, and the hooks that stop them, close the receiver and drop the schema.
 */
export function postgresProcessSuite(prefix: string): PostgresProcessSuite {
  const schema = uniqueSchema(prefix);
  const env = { HERALD_POSTGRES_SCHEMA: schema, HERALD_POSTGRES_POOL_SIZE: '4' };
  let receiver: TestReceiver | undefined;
  const started: HeraldProcess[] = [];

  before(async () => {
    receiver = await startReceiver();
  });

  after(async () => {
    await Promise.all(started.map((h) => h.stop(5000)));
    await receiver?.close();
    await withAdmin((admin) => admin.dropSchema(schema));
  });

  return {
    env,
    get receiver() {
      assert.ok(receiver !== undefined, 'the receiver starts before the first test');
      return receiver;
    },
    async start(args, extraEnv = {}) {
      const herald = await startHeraldProcess({
        databaseUrl: POSTGRES_TEST_URL,
        env: { ...env, ...extraEnv },
        args,
      });
      started.push(herald);
      return herald;
    },
  };
}
