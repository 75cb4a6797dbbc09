/**
 * Herald throughput and latency, side by side with the raw HTTP ceiling of this machine.
 * See README.md next to this file for the workload, the flags and how to read the output.
 *
 *   npm run bench:throughput -- --runs 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startReceiverProcess } from './receiver-process.ts';
import { checkTargets, describeRun, summarise, summaryTable, TARGETS } from './report.ts';
import {
  type BenchOptions,
  messageCount,
  type RunResult,
  runCeiling,
  runHerald,
  type ScenarioKind,
  type System,
} from './scenarios.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Unmeasured ceiling requests sent first, so the first measured run is not a cold start. */
const RECEIVER_WARMUP_REQUESTS = 5000;

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
    warmup: { type: 'string', default: '2000' },
    'herald-env': { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm run bench:throughput -- [--messages 20000] [--endpoints 1] [--rate 500] [--duration 20]\n' +
      '  [--concurrency 64] [--runs 3] [--scenarios max,steady] [--systems ceiling,herald]\n  [--timeout 180] [--warmup 2000]\n' +
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

function nonNegativeInt(name: string, text: string): number {
  return text === '0' ? 0 : positiveInt(name, text);
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
  warmupMessages: nonNegativeInt('warmup', values.warmup),
  heraldEnv,
  cpuProfDir: values['cpu-prof'] ? join(dirname(outPath), `profiles-${stamp}`) : undefined,
};
const runs = positiveInt('runs', values.runs);
const scenarios = values.scenarios.split(',').map((s) => s.trim()) as ScenarioKind[];
for (const s of scenarios) {
  if (s !== 'max' && s !== 'steady') throw new Error(`--scenarios: unknown '${s}' (max, steady)`);
}
const systems = values.systems.split(',').map((s) => s.trim()) as System[];
for (const s of systems) {
  if (s !== 'ceiling' && s !== 'herald')
    throw new Error(`--systems: unknown '${s}' (ceiling, herald)`);
}

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
  await runCeiling('max', 0, receiver, { ...options, messages: RECEIVER_WARMUP_REQUESTS });
  for (let run = 1; run <= runs; run++) {
    for (const kind of scenarios) {
      for (const system of systems) {
        const runOne = system === 'ceiling' ? runCeiling : runHerald;
        const result = await runOne(kind, run, receiver, options);
        results.push(result);
        log(describeRun(result));
      }
    }
  }
} finally {
  await receiver.close();
}

const summaries = summarise(results, scenarios, systems, (s) => messageCount(s, options));
const checks = checkTargets(summaries, results, options);
log('');
log(
  `Medians of ${runs} run(s) (latency: publish to receipt; request: publish call or direct POST):`,
);
for (const line of summaryTable(summaries, options)) log(line);
log('');
log('Targets:');
for (const c of checks) {
  log(`  ${c.pass === undefined ? 'n/a ' : c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}`);
}

mkdirSync(dirname(outPath), { recursive: true });
const report = {
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
};
writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
log('');
log(`JSON: ${outPath}`);
if (options.cpuProfDir !== undefined) log(`CPU profiles of Herald: ${options.cpuProfDir}`);
