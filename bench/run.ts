/**
 * Herald's comparison suite: the same workloads through the bare-HTTP limit, Herald (SQLite,
 * PostgreSQL, PostgreSQL with 2 worker processes) and the job queues a team would pick instead
 * (BullMQ, graphile-worker, pg-boss), in one run, with tables of medians and the targets.
 * See bench/README.md.
 *
 *   npm run bench
 *   npm run bench -- --quick --contenders limit,herald-sqlite,herald-pg,herald-pg-2w
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POSTGRES_URL, openBenchDatabase } from './postgres/database.ts';
import type { SuiteEnvironment } from './suite/contender.ts';
import { loadContenders } from './suite/contenders/index.ts';
import { describeRun } from './suite/format.ts';
import { parseSuiteOptions, type SuiteOptions, USAGE } from './suite/options.ts';
import { planRuns, runPlan } from './suite/plan.ts';
import { suiteTables } from './suite/report.ts';
import { summarise } from './suite/summary.ts';
import { checkTargets, targetsTable } from './suite/targets.ts';
import { heraldCommit, machineInfo, redisVersion } from './suite/versions.ts';
import type { WorkloadContext } from './suite/workloads/harness.ts';
import { startReceiverProcess } from './throughput/receiver-process.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => process.stdout.write(`${line}\n`);

let options: SuiteOptions;
try {
  const parsed = parseSuiteOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  options = parsed;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const outPath = resolve(options.out ?? join(ROOT, 'bench/results', `suite-${stamp}.json`));
const env: SuiteEnvironment = {
  postgresUrl: DEFAULT_POSTGRES_URL,
  redisUrl: process.env.HERALD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  cpuProfDir: options.cpuProf ? join(dirname(outPath), `profiles-${stamp}`) : undefined,
  heraldEnv: options.heraldEnv,
  concurrency: options.concurrency,
};

const machine = machineInfo();
log(
  `Herald comparison suite${options.quick ? ' (--quick)' : ''}: ${options.contenders.join(', ')}`,
);
log(
  `machine: ${machine.cpus} x ${machine.model}, ${machine.totalMemGiB} GiB, node ${machine.node}, ${machine.os}`,
);

const contenders = await loadContenders(options.contenders);
const db = contenders.some((c) => c.usesPostgres)
  ? await openBenchDatabase(env.postgresUrl)
  : undefined;
const receiver = await startReceiverProcess();
const versions = {
  herald: heraldCommit(ROOT),
  postgres: db === undefined ? undefined : await db.describe(),
  redis: options.contenders.includes('bullmq') ? await redisVersion(env.redisUrl) : undefined,
  contenders: Object.fromEntries(
    await Promise.all(contenders.map(async (c) => [c.name, await c.describe()] as const)),
  ),
};
log(`herald commit ${versions.herald}`);
if (versions.postgres !== undefined) log(`postgres: ${versions.postgres}`);
if (versions.redis !== undefined) log(`redis: ${versions.redis}`);
for (const [name, text] of Object.entries(versions.contenders)) log(`  ${name}: ${text}`);

const ctx: WorkloadContext = { receiver, env, options, db };
const plan = planRuns(ctx, contenders);
log(`${plan.length} measured runs`);
log('');
const began = performance.now();
const elapsed = () => `${Math.round((performance.now() - began) / 1000)} s`;
let outcome: Awaited<ReturnType<typeof runPlan>>;
try {
  outcome = await runPlan(plan, ctx, (index, run) => {
    log(`[${index + 1}/${plan.length} ${elapsed()}] ${describeRun(run)}`);
    if ('error' in run) process.stderr.write(`${run.error}\n`);
  });
} finally {
  await receiver.close();
  await db?.close();
}

const { results, failures } = outcome;
const summaries = summarise(results);
const checks = checkTargets(summaries);
log('');
for (const line of suiteTables(summaries, options)) log(line);
log('');
log('Targets:');
log('');
for (const line of targetsTable(checks)) log(line);
if (failures.length > 0) {
  log('');
  log(`${failures.length} run(s) crashed:`);
  for (const f of failures)
    log(`  ${f.workload} ${f.mode} #${f.run} ${f.contender}: ${f.error.split('\n')[0]}`);
}

mkdirSync(dirname(outPath), { recursive: true });
const report = {
  startedAt: startedAt.toISOString(),
  wallSeconds: Math.round((performance.now() - began) / 1000),
  machine,
  versions,
  options,
  runs: results,
  failures,
  medians: summaries,
  targets: checks,
};
writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
log('');
log(`JSON: ${outPath} (suite took ${elapsed()})`);
if (env.cpuProfDir !== undefined) log(`CPU profiles of Herald: ${env.cpuProfDir}`);
process.exitCode = failures.length > 0 ? 1 : 0;
