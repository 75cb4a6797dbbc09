/**
 * Herald on PostgreSQL: end-to-end deliveries per second with 1, 2 and 4 worker processes side by
 * side with the bare HTTP ceiling, and the queue's claim rate with a 1,000,000-delivery backlog
 * beside the same with an empty queue. See README.md next to this file.
 *
 *   npm run bench:postgres                      # everything, 3 runs, medians
 *   npm run bench:postgres -- --parts claims    # only the claim-rate part
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startReceiverProcess } from '../throughput/receiver-process.ts';
import { runCeiling } from '../throughput/scenarios.ts';
import {
  CLAIM_MODES,
  type ClaimMode,
  type ClaimRateOptions,
  type ClaimRateResult,
  drainQueue,
  seedQueue,
} from './claim-rate.ts';
import { DEFAULT_POSTGRES_URL, openBenchDatabase } from './database.ts';
import type { Topology } from './herald-group.ts';
import {
  checkPostgresTargets,
  claimTable,
  describeClaimRun,
  describeThroughputRun,
  POSTGRES_TARGETS,
  summariseClaims,
  summariseThroughput,
  throughputTable,
} from './report.ts';
import {
  runCeilingOnce,
  runHeraldOnPostgres,
  type ThroughputOptions,
  type ThroughputResult,
} from './throughput.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Unmeasured ceiling requests first, so the first measured run is not a cold start. */
const RECEIVER_WARMUP_REQUESTS = 5000;

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: DEFAULT_POSTGRES_URL },
    parts: { type: 'string', default: 'throughput,claims' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1,2,4' },
    topology: { type: 'string', default: 'all' },
    messages: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '2000' },
    timeout: { type: 'string', default: '180' },
    backlog: { type: 'string', default: '1000000' },
    drain: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '500' },
    'claim-endpoints': { type: 'string', default: '10' },
    'claim-modes': { type: 'string', default: CLAIM_MODES.join(',') },
    'herald-env': { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run bench:postgres -- [--parts throughput,claims] [--runs 3] [--workers 1,2,4]\n' +
      '  [--topology all|split|all,split] [--messages 20000] [--concurrency 64] [--warmup 2000]\n' +
      '  [--backlog 1000000] [--drain 20000] [--batch 500] [--claim-endpoints 10]\n' +
      '  [--claim-modes oldest,shared,endpoint] [--herald-env HERALD_X=value ...] [--cpu-prof]\n' +
      '  [--url postgres://...] [--out file.json]\n',
  );
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} must be a positive integer, got '${text}'`);
  }
  return n;
}
const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const parts = list(values.parts);
for (const p of parts) {
  if (p !== 'throughput' && p !== 'claims') throw new Error(`--parts: unknown '${p}'`);
}
const topologies = list(values.topology) as Topology[];
for (const t of topologies) {
  if (t !== 'all' && t !== 'split') throw new Error(`--topology: unknown '${t}' (all, split)`);
}
const claimModes = list(values['claim-modes']) as ClaimMode[];
for (const m of claimModes) {
  if (!CLAIM_MODES.includes(m)) throw new Error(`--claim-modes: unknown '${m}'`);
}
const heraldEnv: Record<string, string> = {};
for (const pair of values['herald-env']) {
  const at = pair.indexOf('=');
  if (at < 1 || !pair.startsWith('HERALD_')) {
    throw new Error(`--herald-env wants HERALD_X=value, got '${pair}'`);
  }
  heraldEnv[pair.slice(0, at)] = pair.slice(at + 1);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outPath = resolve(values.out ?? join(ROOT, 'bench/results', `postgres-${stamp}.json`));
const runs = positiveInt('runs', values.runs);
const workerCounts = list(values.workers).map((w) => positiveInt('workers', w));
const throughputOptions: ThroughputOptions = {
  messages: positiveInt('messages', values.messages),
  concurrency: positiveInt('concurrency', values.concurrency),
  warmupMessages: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup),
  timeoutSeconds: positiveInt('timeout', values.timeout),
  heraldEnv,
  cpuProfDir: values['cpu-prof'] ? join(dirname(outPath), `profiles-postgres-${stamp}`) : undefined,
};
const claimOptions: ClaimRateOptions = {
  backlog: positiveInt('backlog', values.backlog),
  drain: positiveInt('drain', values.drain),
  batch: positiveInt('batch', values.batch),
  endpoints: positiveInt('claim-endpoints', values['claim-endpoints']),
};

const log = (line: string) => process.stdout.write(`${line}\n`);
const db = await openBenchDatabase(values.url);
log(`Herald PostgreSQL bench: ${runs} run(s) of ${parts.join(', ')}`);
log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
log(`database: ${await db.describe()}`);

const throughput: ThroughputResult[] = [];
const claims: ClaimRateResult[] = [];
try {
  if (parts.includes('throughput')) {
    log('');
    log(
      `End to end: ${throughputOptions.messages} messages of ~1 KB published over HTTP (concurrency ` +
        `${throughputOptions.concurrency}), 1 endpoint; worker processes ${workerCounts.join(', ')}; topology ${topologies.join(', ')}`,
    );
    const receiver = await startReceiverProcess();
    try {
      await runCeiling('max', 0, receiver, {
        messages: RECEIVER_WARMUP_REQUESTS,
        endpoints: 1,
        rate: 1,
        durationSeconds: 1,
        concurrency: throughputOptions.concurrency,
        timeoutSeconds: throughputOptions.timeoutSeconds,
        warmupMessages: 0,
        heraldEnv: {},
        cpuProfDir: undefined,
      });
      for (let run = 1; run <= runs; run++) {
        const ceiling = await runCeilingOnce(run, receiver, throughputOptions);
        throughput.push(ceiling);
        log(describeThroughputRun(ceiling));
        for (const topology of topologies) {
          for (const workers of workerCounts) {
            const result = await runHeraldOnPostgres(
              db,
              topology,
              workers,
              run,
              receiver,
              throughputOptions,
            );
            throughput.push(result);
            log(describeThroughputRun(result));
          }
        }
      }
    } finally {
      await receiver.close();
    }
  }

  if (parts.includes('claims')) {
    log('');
    log(
      `Claim rate: drain ${claimOptions.drain} deliveries (claim batches of ${claimOptions.batch}, ` +
        `${claimOptions.endpoints} endpoints) from a queue of ${claimOptions.drain} vs ${claimOptions.backlog}`,
    );
    const empty = await seedQueue(db, claimOptions.drain, claimOptions.endpoints);
    log(`seeded ${empty.pending} deliveries in ${(empty.seedMs / 1000).toFixed(1)} s`);
    const big = await seedQueue(db, claimOptions.backlog, claimOptions.endpoints);
    log(`seeded ${big.pending} deliveries in ${(big.seedMs / 1000).toFixed(1)} s`);
    try {
      for (let run = 1; run <= runs; run++) {
        for (const mode of claimModes) {
          for (const queue of [empty, big]) {
            // Same state every time: all pending again, vacuumed, checkpointed.
            await queue.reset();
            const result = await drainQueue(queue, mode, run, claimOptions);
            claims.push(result);
            log(describeClaimRun(result));
          }
        }
      }
    } finally {
      await empty.close();
      await big.close();
    }
  }
} finally {
  await db.close();
}

const throughputSummaries = summariseThroughput(throughput);
const claimSummaries = summariseClaims(claims, claimOptions.backlog);
const checks = checkPostgresTargets(throughputSummaries, claimSummaries);
log('');
if (throughputSummaries.length > 0) {
  log(`End to end, medians of ${runs} run(s):`);
  for (const line of throughputTable(throughputSummaries)) log(line);
  log('');
}
if (claimSummaries.length > 0) {
  log(`Claim rate, medians of ${runs} run(s):`);
  for (const line of claimTable(claimSummaries)) log(line);
  log('');
}
log('Targets:');
for (const c of checks) log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}`);

mkdirSync(dirname(outPath), { recursive: true });
const report = {
  startedAt: stamp,
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    totalMemGiB: totalmem() / 2 ** 30,
    node: process.version,
  },
  options: {
    parts,
    runs,
    workers: workerCounts,
    topologies,
    throughput: throughputOptions,
    claims: { ...claimOptions, modes: claimModes },
  },
  targets: POSTGRES_TARGETS,
  summaries: { throughput: throughputSummaries, claims: claimSummaries },
  checks,
  runs: { throughput, claims },
};
writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
log('');
log(`JSON: ${outPath}`);
if (throughputOptions.cpuProfDir !== undefined) {
  log(`CPU profiles: ${throughputOptions.cpuProfDir}`);
}
