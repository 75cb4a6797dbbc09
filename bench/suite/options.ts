// The suite's flags (see bench/README.md): parsed, checked and defaulted in one place.
import { parseArgs } from 'node:util';
import type { ContenderName } from './contender.ts';
import { CONTENDER_NAMES, HERALD_CONTENDERS, isContenderName } from './contenders/index.ts';

export type WorkloadId = 'a' | 'b' | 'c' | 'd' | 'e';
export type PublishMode = 'one' | 'bulk';

export const WORKLOAD_IDS: readonly WorkloadId[] = ['a', 'b', 'c', 'd', 'e'];

export interface SuiteOptions {
  readonly contenders: readonly ContenderName[];
  readonly workloads: readonly WorkloadId[];
  readonly modes: readonly PublishMode[];
  readonly runs: number;
  /** (a) messages to one destination. */
  readonly messages: number;
  /** (b) messages, each to every one of `fanoutEndpoints` destinations. */
  readonly fanoutMessages: number;
  readonly fanoutEndpoints: number;
  /** (c) messages per second, for `durationSeconds`. */
  readonly rate: number;
  readonly durationSeconds: number;
  /** (d) deliveries seeded while paused, of which the first `backlogDrain` are measured. */
  readonly backlog: number;
  readonly backlogDrain: number;
  readonly backlogRuns: number;
  readonly backlogContenders: readonly ContenderName[];
  /** (e) messages, and how long the slow destination takes to answer. */
  readonly slowMessages: number;
  readonly slowMs: number;
  /** Publish calls in flight at most (one at a time mode), and HTTP connections. */
  readonly concurrency: number;
  /** Unmeasured messages through every fresh instance first (0: none). */
  readonly warmup: number;
  /** How long a run may wait for its deliveries, seconds. */
  readonly timeoutSeconds: number;
  readonly heraldEnv: Readonly<Record<string, string>>;
  readonly cpuProf: boolean;
  readonly out: string | undefined;
  readonly quick: boolean;
}

/** Flag name, default, and the `--quick` value where it differs. */
const NUMBERS = {
  runs: ['3', '1'],
  messages: ['20000', '2000'],
  'fanout-messages': ['200', '20'],
  'fanout-endpoints': ['50', '10'],
  rate: ['500', '500'],
  duration: ['20', '3'],
  backlog: ['1000000', '20000'],
  'backlog-drain': ['100000', '5000'],
  'backlog-runs': ['1', '1'],
  'slow-messages': ['5000', '500'],
  'slow-ms': ['100', '100'],
  concurrency: ['64', '64'],
  warmup: ['2000', '2000'],
  timeout: ['300', '300'],
} as const;
type NumberFlag = keyof typeof NUMBERS;

export const USAGE = `usage: npm run bench -- [flags]
  --contenders a,b      ${CONTENDER_NAMES.join(',')} (default: all)
  --workloads a,b,c,d,e throughput, fan-out, latency, backlog, slow receiver (default: all)
  --modes one,bulk      publishing modes for (a) and (b) (default: both)
  --runs 3              measured runs per workload and contender (medians)
  --messages 20000      (a) messages to 1 endpoint
  --fanout-messages 200 --fanout-endpoints 50      (b)
  --rate 500 --duration 20                         (c) open loop, messages/s for seconds
  --backlog 1000000 --backlog-drain 100000 --backlog-runs 1
  --backlog-contenders herald-sqlite,herald-pg,herald-pg-2w   (d) (baselines may be added)
  --slow-messages 5000 --slow-ms 100               (e)
  --concurrency 64      calls in flight (one at a time) and HTTP connections
  --warmup 2000         unmeasured messages through each fresh instance (0: none)
  --timeout 300         seconds a run may wait for its deliveries
  --herald-env HERALD_X=value   (repeatable) settings for every Herald started
  --cpu-prof            Herald under node --cpu-prof (profiles next to the JSON)
  --out file.json       default bench/results/suite-<timestamp>.json
  --quick               smoke preset: runs 1, messages 2000, fan-out 20x10, duration 3,
                        backlog 20000, drain 5000, slow-messages 500
`;

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function integer(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return n;
}

function names(flag: string, text: string): ContenderName[] {
  return list(text).map((name) => {
    if (!isContenderName(name)) {
      throw new Error(`--${flag}: unknown '${name}' (${CONTENDER_NAMES.join(', ')})`);
    }
    return name;
  });
}

/** Parses argv; `help` when --help was given (nothing else is checked then). */
export function parseSuiteOptions(argv: readonly string[]): SuiteOptions | 'help' {
  const numberFlags = Object.fromEntries(
    Object.keys(NUMBERS).map((name) => [name, { type: 'string' as const }]),
  );
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...numberFlags,
      contenders: { type: 'string', default: CONTENDER_NAMES.join(',') },
      workloads: { type: 'string', default: WORKLOAD_IDS.join(',') },
      modes: { type: 'string', default: 'one,bulk' },
      'backlog-contenders': { type: 'string', default: HERALD_CONTENDERS.join(',') },
      'herald-env': { type: 'string', multiple: true, default: [] },
      'cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) return 'help';
  const quick = values.quick === true;
  const given = values as Record<string, unknown>;
  const num = (name: NumberFlag, min = 1) => {
    const text = given[name];
    const [standard, smoke] = NUMBERS[name];
    return integer(name, typeof text === 'string' ? text : quick ? smoke : standard, min);
  };

  const workloads = list(values.workloads).map((w) => {
    if (!(WORKLOAD_IDS as readonly string[]).includes(w)) {
      throw new Error(`--workloads: unknown '${w}' (${WORKLOAD_IDS.join(', ')})`);
    }
    return w as WorkloadId;
  });
  const modes = list(values.modes).map((m) => {
    if (m !== 'one' && m !== 'bulk') throw new Error(`--modes: unknown '${m}' (one, bulk)`);
    return m as PublishMode;
  });
  const heraldEnv: Record<string, string> = {};
  for (const pair of values['herald-env']) {
    const at = pair.indexOf('=');
    if (at < 1 || !pair.startsWith('HERALD_')) {
      throw new Error(`--herald-env wants HERALD_X=value, got '${pair}'`);
    }
    heraldEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const options: SuiteOptions = {
    contenders: names('contenders', values.contenders),
    workloads,
    modes,
    runs: num('runs'),
    messages: num('messages'),
    fanoutMessages: num('fanout-messages'),
    fanoutEndpoints: num('fanout-endpoints'),
    rate: num('rate'),
    durationSeconds: num('duration'),
    backlog: num('backlog'),
    backlogDrain: num('backlog-drain'),
    backlogRuns: num('backlog-runs'),
    backlogContenders: names('backlog-contenders', values['backlog-contenders']),
    slowMessages: num('slow-messages'),
    slowMs: num('slow-ms', 0),
    concurrency: num('concurrency'),
    warmup: num('warmup', 0),
    timeoutSeconds: num('timeout'),
    heraldEnv,
    cpuProf: values['cpu-prof'] === true,
    out: values.out,
    quick,
  };
  if (options.backlogDrain > options.backlog) {
    throw new Error(
      `--backlog-drain (${options.backlogDrain}) exceeds --backlog (${options.backlog})`,
    );
  }
  if (options.fanoutEndpoints > 1000) {
    throw new Error('--fanout-endpoints: at most 1000 (one bulk call holds at most 1,000 jobs)');
  }
  return options;
}
