/**
 * Herald throughput and latency, side by side with the raw HTTP ceiling of this machine.
 * See README.md next to this file for the workload, the flags and how to read the output.
 *
 *   npm run bench -- --runs 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startReceiverProcess } from './receiver-process.ts';
import {
  type BenchOptions,
  messageCount,
  type RunResult,
  runCeiling,
  runHerald,
  type ScenarioKind,
} from './scenarios.ts';
import { median } from './stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Unmeasured ceiling requests sent first, so the first measured run is not a cold start. */
const WARMUP_MESSAGES = 5000;

const TARGETS = {
  deliveriesPerSecond: 3000,
  steadyP99Ms: 50,
  peakRssMiB: 250,
};

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    endpoints: { type: 'string', default: '1' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    scenarios: { type: 'string', default: 'max,steady' },
    systems: { type: 'string', default: 'ceiling,herald' },
    timeout: { type: 'string', default: '180' },
    'herald-env': { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run bench -- [--messages 20000] [--endpoints 1] [--rate 500] [--duration 20]\n' +
      '  [--concurrency 64] [--runs 3] [--scenarios max,steady] [--systems ceiling,herald]\n  [--timeout 180]\n' +
      '  [--herald-env HERALD_X=value ...] [--cpu-prof] [--out file.json]\n',
  );
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outPath = resolve(values.out ?? join(ROOT, 'bench/results', `${stamp}.json`));
const heraldEnv: Record<string, string> = {};
for (const pair of values['herald-env']) {
  const at = pair.indexOf('=');
  if (at < 1 || !pair.startsWith('HERALD_'))
    throw new Error(`--herald-env wants HERALD_X=value, got '${pair}'`);
  heraldEnv[pair.slice(0, at)] = pair.slice(at + 1);
}
const options: BenchOptions = {
  messages: positiveInt('messages', values.messages),
  endpoints: positiveInt('endpoints', values.endpoints),
  rate: positiveInt('rate', values.rate),
  durationSeconds: positiveInt('duration', values.duration),
  concurrency: positiveInt('concurrency', values.concurrency),
  timeoutSeconds: positiveInt('timeout', values.timeout),
  heraldEnv,
  cpuProfDir: values['cpu-prof'] ? join(dirname(outPath), `profiles-${stamp}`) : undefined,
};
const runs = positiveInt('runs', values.runs);
const scenarios = values.scenarios.split(',').map((s) => s.trim()) as ScenarioKind[];
for (const s of scenarios) {
  if (s !== 'max' && s !== 'steady') throw new Error(`--scenarios: unknown '${s}' (max, steady)`);
}
const systems = values.systems.split(',').map((s) => s.trim()) as Array<'ceiling' | 'herald'>;
for (const s of systems) {
  if (s !== 'ceiling' && s !== 'herald')
    throw new Error(`--systems: unknown '${s}' (ceiling, herald)`);
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
const log = (line: string) => process.stdout.write(`${line}\n`);

log(
  `Herald throughput bench: ${runs} run(s) of ${scenarios.join(', ')}; ` +
    `${options.endpoints} endpoint(s), concurrency ${options.concurrency}, ~1 KB payloads`,
);
log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);

const receiver = await startReceiverProcess();
const results: RunResult[] = [];
try {
  // Warm the receiver (and this process's client) up before anything is measured.
  await runCeiling('max', 0, receiver, { ...options, messages: WARMUP_MESSAGES });
  for (let run = 1; run <= runs; run++) {
    for (const kind of scenarios) {
      for (const system of systems) {
        const result = await (system === 'ceiling' ? runCeiling : runHerald)(
          kind,
          run,
          receiver,
          options,
        );
        results.push(result);
        log(
          `run ${run} ${kind.padEnd(6)} ${system.padEnd(7)} ${fmt(result.deliveriesPerSecond)} deliveries/s, ` +
            `p50 ${fmt(result.p50Ms, 1)} ms, p99 ${fmt(result.p99Ms, 1)} ms` +
            (result.peakRssMiB === undefined ? '' : `, peak RSS ${fmt(result.peakRssMiB)} MiB`) +
            (result.complete ? '' : ` INCOMPLETE ${result.delivered}/${result.expected}`) +
            (result.publishFailed > 0
              ? ` (${result.publishFailed} publishes failed: ${result.firstPublishError})`
              : ''),
        );
      }
    }
  }
} finally {
  await receiver.close();
}

interface Summary {
  scenario: ScenarioKind;
  system: 'ceiling' | 'herald';
  messages: number;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMiB: number;
  duplicates: number;
  incompleteRuns: number;
}

const summaries: Summary[] = [];
for (const scenario of scenarios) {
  for (const system of systems) {
    const mine = results.filter((r) => r.scenario === scenario && r.system === system);
    summaries.push({
      scenario,
      system,
      messages: messageCount(scenario, options),
      deliveriesPerSecond: median(mine.map((r) => r.deliveriesPerSecond)),
      publishesPerSecond: median(mine.map((r) => r.publishesPerSecond)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      peakRssMiB: median(mine.map((r) => r.peakRssMiB ?? Number.NaN)),
      duplicates: mine.reduce((sum, r) => sum + r.duplicates, 0),
      incompleteRuns: mine.filter((r) => !r.complete).length,
    });
  }
}
const find = (scenario: ScenarioKind, system: 'ceiling' | 'herald') =>
  summaries.find((s) => s.scenario === scenario && s.system === system);

log('');
log(`Medians of ${runs} run(s):`);
log(
  '| scenario | system | messages | deliveries/s | vs ceiling | publishes/s | p50 ms | p99 ms | p99 vs ceiling | peak RSS MiB | duplicates | incomplete runs |',
);
log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const s of summaries) {
  const ceiling = find(s.scenario, 'ceiling');
  const isHerald = s.system === 'herald' && ceiling !== undefined;
  const label = s.scenario === 'max' ? 'max throughput' : `steady ${options.rate}/s`;
  log(
    `| ${label} | ${s.system} | ${s.messages} | ${fmt(s.deliveriesPerSecond)} | ` +
      `${isHerald ? `${fmt((s.deliveriesPerSecond / ceiling.deliveriesPerSecond) * 100, 1)}%` : ''} | ` +
      `${fmt(s.publishesPerSecond)} | ${fmt(s.p50Ms, 1)} | ${fmt(s.p99Ms, 1)} | ` +
      `${isHerald ? `${fmt(s.p99Ms / ceiling.p99Ms, 1)}x` : ''} | ${fmt(s.peakRssMiB)} | ${s.duplicates} | ${s.incompleteRuns} |`,
  );
}

const heraldRuns = results.filter((r) => r.system === 'herald');
const worstRss = Math.max(...heraldRuns.map((r) => r.peakRssMiB ?? Number.NaN));
const checks: Array<{ target: string; measured: string; pass: boolean | undefined }> = [];
const max = find('max', 'herald');
if (max !== undefined && options.endpoints === 1) {
  checks.push({
    target: `>= ${TARGETS.deliveriesPerSecond} deliveries/s (1 endpoint, 1 KB, HTTP publish)`,
    measured: `${fmt(max.deliveriesPerSecond)}/s (median)`,
    pass: max.deliveriesPerSecond >= TARGETS.deliveriesPerSecond && max.incompleteRuns === 0,
  });
}
const steady = find('steady', 'herald');
if (steady !== undefined) {
  checks.push({
    target: `p99 < ${TARGETS.steadyP99Ms} ms at ${options.rate} msg/s`,
    measured: `p99 ${fmt(steady.p99Ms, 1)} ms (median)`,
    pass: steady.p99Ms < TARGETS.steadyP99Ms && steady.incompleteRuns === 0,
  });
}
checks.push({
  target: `peak RSS < ${TARGETS.peakRssMiB} MB`,
  measured: `${fmt(worstRss)} MiB (worst run)`,
  pass: Number.isFinite(worstRss) ? worstRss < TARGETS.peakRssMiB : undefined,
});
log('');
log('Targets:');
for (const c of checks) {
  log(`  ${c.pass === undefined ? 'n/a ' : c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}`);
}

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(
  outPath,
  `${JSON.stringify(
    {
      startedAt: stamp,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        totalMemGiB: totalmem() / 2 ** 30,
        node: process.version,
      },
      options: { ...options, runs, scenarios, systems },
      targets: TARGETS,
      summaries,
      checks,
      runs: results,
    },
    null,
    2,
  )}\n`,
);
log('');
log(`JSON: ${outPath}`);
if (options.cpuProfDir !== undefined) log(`CPU profiles of Herald: ${options.cpuProfDir}`);
