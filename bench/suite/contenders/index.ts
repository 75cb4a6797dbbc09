// Every contender of the suite, by name, in the order the tables list them. Each is imported
// only when asked for, so a run without the baselines does not load their libraries.
import type { Contender, ContenderName } from '../contender.ts';

export const CONTENDER_NAMES: readonly ContenderName[] = [
  'limit',
  'herald-sqlite',
  'herald-pg',
  'herald-pg-2w',
  'bullmq',
  'graphile-worker',
  'pg-boss',
];

const LOADERS: Record<ContenderName, () => Promise<Contender>> = {
  limit: async () => (await import('./limit.ts')).limitContender,
  'herald-sqlite': async () => (await import('./herald.ts')).heraldSqliteContender,
  'herald-pg': async () => (await import('./herald.ts')).heraldPgContender,
  'herald-pg-2w': async () => (await import('./herald.ts')).heraldPg2wContender,
  bullmq: async () => (await import('./bullmq.ts')).bullmqContender,
  'graphile-worker': async () => (await import('./graphile-worker.ts')).graphileworkerContender,
  'pg-boss': async () => (await import('./pg-boss.ts')).pgbossContender,
};

export const isContenderName = (name: string): name is ContenderName =>
  (CONTENDER_NAMES as readonly string[]).includes(name);

/** The named contenders, loaded, in the order given. */
export function loadContenders(names: readonly ContenderName[]): Promise<Contender[]> {
  return Promise.all(names.map((name) => LOADERS[name]()));
}

/** Herald's own contenders (the targets are theirs). */
export const HERALD_CONTENDERS: readonly ContenderName[] = [
  'herald-sqlite',
  'herald-pg',
  'herald-pg-2w',
];

/** The job-queue baselines, and those of them on PostgreSQL. */
export const BASELINES: readonly ContenderName[] = ['bullmq', 'graphile-worker', 'pg-boss'];
export const PG_BASELINES: readonly ContenderName[] = ['graphile-worker', 'pg-boss'];
