// The plans PostgreSQL picks for the claim statements when its statistics were taken while the
// queue was nearly empty (the usual state of a queue table between bursts) and a backlog has
// arrived since: each claim must still touch about as many rows as it claims, not the backlog.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describePostgres, openTestPostgresStore } from '../../../test/helpers/backend.ts';
import { createRecordBuilders } from '../contract/record-builders.ts';
import {
  claimOfEndpointsQuery,
  claimOldestQuery,
  claimSharedQuery,
  type Query,
} from './claim-queries.ts';
import type { PostgresStore } from './postgres-store.ts';

const T0 = Date.UTC(2030, 0, 1);
const DONE = 2000;
const BACKLOG = 5000;
const LIMIT = 64;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodes(child);
}

describePostgres('PostgreSQL claim plans after statistics of an empty queue', () => {
  let store: PostgresStore;
  let endpointId: string;

  before(async () => {
    store = await openTestPostgresStore();
    const build = createRecordBuilders(() => T0);
    const app = build.anApplication({ name: 'plans' });
    await store.insertApplication(app);
    const endpoint = build.anEndpoint(app.id, { url: 'http://127.0.0.1:9/hook' });
    await store.insertEndpoint(endpoint);
    endpointId = endpoint.id;
    const rows = (from: number, count: number, status: number) =>
      store.db.pool.query(
        `WITH m AS (
           INSERT INTO messages (id, app_id, event_type, payload, created_at)
           SELECT 'msg_' || g, $1, 'plan.test', '{}', $3 FROM generate_series($4::int, $4::int + $5::int - 1) g
           RETURNING id)
         INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, trigger_type, due_at, created_at, updated_at)
         SELECT 'dlv_' || substr(id, 5), id, $2, $1, $6, 0, $3 + substr(id, 5)::int, $3, $3 FROM m`,
        [app.id, endpointId, T0, from, count, status],
      );
    // Delivered history, analysed: the statistics say the queue is empty...
    await rows(0, DONE, 0);
    await store.db.pool.query('ANALYZE deliveries');
    // ...then a backlog arrives, and no ANALYZE has run since.
    await rows(DONE, BACKLOG, 1);
  });
  after(async () => {
    await store?.close();
  });

  /** Runs `query` as a prepared statement on its generic plan, rolled back; returns the plan. */
  async function genericPlan(query: Query): Promise<PlanNode> {
    return store.db.transaction(async (client) => {
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE claim_plan AS ${query.text}`);
      try {
        const literal = (v: unknown) =>
          Array.isArray(v)
            ? `ARRAY[${v.map((x) => `'${String(x)}'`).join(',')}]::text[]`
            : typeof v === 'number'
              ? String(v)
              : `'${String(v)}'`;
        const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim_plan(${query.values.map(literal).join(', ')})`,
        );
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
        assert.ok(plan !== undefined);
        return plan;
      } finally {
        await client.query('DEALLOCATE claim_plan');
        await client.query('ROLLBACK');
      }
    });
  }

  it('each claim reads about the rows it claims, and marks them by TID', async () => {
    const now = T0 + DONE + BACKLOG;
    const lease = now + 60_000;
    const from = Number.MIN_SAFE_INTEGER;
    const fresh = { from, now, lease, exclude: [], limit: LIMIT };
    const claims: [string, Query][] = [
      ['oldest', claimOldestQuery(fresh)],
      ['shared', claimSharedQuery({ ...fresh, perEndpoint: LIMIT / 2, scan: 2 * LIMIT })],
      [
        'endpoint',
        claimOfEndpointsQuery({ now, lease, from, endpoints: [{ endpointId, limit: LIMIT }] }),
      ],
    ];
    for (const [name, query] of claims) {
      const plan = await genericPlan(query);
      const update = [...nodes(plan)].find((n) => n['Node Type'] === 'ModifyTable');
      assert.ok(update !== undefined, `${name}: an UPDATE`);
      const target = update.Plans?.find((n) => n['Relation Name'] === 'deliveries');
      assert.equal(target?.['Node Type'], 'Tid Scan', `${name}: rows found by their TID`);
      for (const node of nodes(plan)) {
        const read =
          ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) *
          (node['Actual Loops'] ?? 1);
        assert.ok(
          read <= 4 * LIMIT,
          `${name}: ${node['Node Type']} on ${node['Relation Name'] ?? '-'} read ${read} rows`,
        );
      }
    }
  });
});
