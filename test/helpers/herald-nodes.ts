// Several Herald processes on one PostgreSQL schema, and a side connection to watch and disturb
// them: the harness of the fault tests in test/postgres/.
import pg from 'pg';
import { HeraldClient } from '../process/api-client.ts';
import { POSTGRES_TEST_URL, uniqueSchema } from './backend.ts';
import { type HeraldProcess, startHeraldProcess } from './herald-process.ts';

/**
 * Settings for fault tests: a short delivery timeout and a lease only a little longer, so a
 * killed node's claims are taken over within seconds; fast retries; small pools, since several
 * nodes and other test files share one server.
 */
export const FAULT_NODE_ENV: Readonly<Record<string, string>> = {
  HERALD_DELIVERY_TIMEOUT_MS: '2000',
  HERALD_CLAIM_LEASE_MS: '4000',
  HERALD_RETRY_SCHEDULE: '1,1,1,1,1',
  HERALD_POSTGRES_POOL_SIZE: '4',
  HERALD_POSTGRES_STATEMENT_TIMEOUT_MS: '5000',
  HERALD_SHUTDOWN_TIMEOUT_MS: '3000',
};

/** `url` with `application_name` set: the tag that tells this test's connections apart. */
export function withApplicationName(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}

export interface HeraldNode {
  readonly name: string;
  readonly process: HeraldProcess;
  readonly client: HeraldClient;
  /** False once the process has exited (or the test marked it as killed). */
  alive(): boolean;
  /** Marks the node dead first (so publishers expect its errors), then SIGKILLs it. */
  kill(): Promise<void>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface HeraldCluster {
  readonly schema: string;
  /** The `application_name` every connection of every node of this cluster carries. */
  readonly applicationName: string;
  readonly nodes: readonly HeraldNode[];
  /** One more node (role all) on the same schema, e.g. to join under load. */
  addNode(name: string): Promise<HeraldNode>;
  /** Kills whatever is still running, closes clients (does not touch the schema). */
  close(): Promise<void>;
  /** Everything the nodes printed, for failure messages. */
  output(): string;
}

/**
 * Starts `count` Herald processes (`herald serve`, role all) sharing one fresh schema. The first
 * starts alone, so the schema is migrated once; the rest start together. Every node's
 * connections carry the cluster's `application_name` (set in the URL, which the driver lets
 * override Herald's own), so `terminateBackends` reaches them and nobody else's.
 */
export async function startHeraldCluster(
  count: number,
  options: { prefix?: string; env?: Record<string, string> } = {},
): Promise<HeraldCluster> {
  const schema = uniqueSchema(options.prefix ?? 'hfault');
  const applicationName = `herald_${schema}`;
  const databaseUrl = withApplicationName(POSTGRES_TEST_URL, applicationName);
  const nodes: HeraldNode[] = [];

  const addNode = async (name: string): Promise<HeraldNode> => {
    const child = await startHeraldProcess({
      databaseUrl,
      env: { ...FAULT_NODE_ENV, ...options.env, HERALD_POSTGRES_SCHEMA: schema },
    });
    let exited = false;
    let killed = false;
    void child.exited.then(() => {
      exited = true;
    });
    const node: HeraldNode = {
      name,
      process: child,
      client: new HeraldClient(child.url, 16),
      alive: () => !exited && !killed,
      async kill() {
        killed = true;
        child.kill('SIGKILL');
        await child.exited;
      },
      stop: () => child.stop(10_000),
    };
    nodes.push(node);
    return node;
  };

  const cluster: HeraldCluster = {
    schema,
    applicationName,
    nodes,
    addNode,
    async close() {
      for (const node of nodes) node.process.kill('SIGKILL');
      await Promise.all(nodes.map((node) => node.process.exited));
      await Promise.all(nodes.map((node) => node.client.close().catch(() => {})));
    },
    output: () => nodes.map((n) => `=== ${n.name} ===\n${n.process.output()}`).join('\n'),
  };
  try {
    if (count > 0) await addNode('node-1');
    await Promise.all(
      Array.from({ length: Math.max(0, count - 1) }, (_, i) => addNode(`node-${i + 2}`)),
    );
  } catch (error) {
    await cluster.close();
    await withAdmin((admin) => admin.dropSchema(schema)).catch(() => {});
    throw error;
  }
  return cluster;
}

/** The test's own view of the database, beside the nodes'. */
export interface AdminConnection {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Ends every connection tagged `applicationName` (never anyone else's); returns how many. */
  terminateBackends(applicationName: string): Promise<number>;
  /** Open connections tagged `applicationName`. */
  countBackends(applicationName: string): Promise<number>;
  dropSchema(schema: string): Promise<void>;
}

/**
 * Runs `work` with a short-lived admin pool (application_name `herald_test_admin`, so it never
 * matches a cluster's tag). A fresh pool per call survives a server restart between calls.
 */
export async function withAdmin<T>(work: (admin: AdminConnection) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({
    connectionString: POSTGRES_TEST_URL,
    max: 2,
    application_name: 'herald_test_admin',
    connectionTimeoutMillis: 5000,
  });
  pool.on('error', () => {});
  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    (await pool.query<R>(text, values)).rows;
  try {
    return await work({
      query,
      async terminateBackends(applicationName) {
        // The victims are chosen first, in a materialized CTE: in a plain WHERE the planner may
        // call pg_terminate_backend before testing the name, and end every connection there is.
        const rows = await query<{ n: number }>(
          `WITH victims AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid())
           SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) AS ended FROM victims) t
           WHERE ended`,
          [applicationName],
        );
        return rows[0]?.n ?? 0;
      },
      async countBackends(applicationName) {
        const rows = await query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        );
        return rows[0]?.n ?? 0;
      },
      async dropSchema(schema) {
        await query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
      },
    });
  } finally {
    await pool.end().catch(() => {});
  }
}

/** An application with the given endpoints (each `{ url, filterTypes? }`); returns the ids. */
export async function createAppWithEndpoints(
  client: HeraldClient,
  endpoints: readonly { url: string; filterTypes?: string[] }[],
): Promise<{ appId: string; endpointIds: string[] }> {
  const app = await client.call('POST', '/api/v1/app', { name: 'fault test' });
  if (app.status !== 201) throw new Error(`create app: ${app.status} ${JSON.stringify(app.body)}`);
  const endpointIds: string[] = [];
  for (const endpoint of endpoints) {
    const res = await client.call('POST', `/api/v1/app/${app.body.id}/endpoint`, endpoint);
    if (res.status !== 201) {
      throw new Error(`create endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    }
    endpointIds.push(res.body.id);
  }
  return { appId: app.body.id, endpointIds };
}
