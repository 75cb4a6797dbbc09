// The suite's tables: one per workload and mode, rows = contenders, cells = medians over the
// runs. Compact Markdown, meant to be pasted into README.md as printed.
import { CONTENDER_NAMES } from './contenders/index.ts';
import { fmtCount, fmtMiB, fmtMs, fmtPercent, fmtRatio, markdownTable } from './format.ts';
import type { SuiteOptions, WorkloadId } from './options.ts';
import type { RunMode } from './results.ts';
import { type Figure, findSummary, type Summary } from './summary.ts';
import { fanoutChunk } from './workloads/fanout.ts';
import { BULK_CHUNK, BULK_IN_FLIGHT } from './workloads/throughput.ts';

interface Column {
  readonly title: string;
  cell(row: Summary, herald: Summary | undefined, limit: Summary | undefined): string;
}

const at = (s: Summary | undefined, figure: Figure) => s?.medians[figure] ?? Number.NaN;

const value = (title: string, figure: Figure, fmt: (n: number) => string): Column => ({
  title,
  cell: (row) => fmt(at(row, figure)),
});
/** Herald SQLite ÷ row for a rate, row ÷ Herald SQLite for a latency: > 1x, Herald is ahead. */
const versusHerald = (figure: Figure, higherIsBetter: boolean): Column => ({
  title: 'vs Herald SQLite',
  cell: (row, herald) =>
    fmtRatio(
      higherIsBetter ? at(herald, figure) / at(row, figure) : at(row, figure) / at(herald, figure),
    ),
});
const ofLimit = (figure: Figure): Column => ({
  title: '% of limit',
  cell: (row, _, limit) => fmtPercent(at(row, figure) / at(limit, figure)),
});
const rss = value('peak RSS MiB', 'peakRssMiB', fmtMiB);

const RATE_COLUMNS: readonly Column[] = [
  value('deliveries/s', 'deliveriesPerSecond', fmtCount),
  versusHerald('deliveriesPerSecond', true),
  ofLimit('deliveriesPerSecond'),
  value('msg/s published', 'publishesPerSecond', fmtCount),
  value('p99 ms', 'p99Ms', fmtMs),
  rss,
];

function heading(workload: WorkloadId, mode: RunMode, o: SuiteOptions): string {
  const calls =
    mode === 'one'
      ? `one call per message, up to ${o.concurrency} in flight`
      : `bulk calls of ${workload === 'a' ? BULK_CHUNK : fanoutChunk(o.fanoutEndpoints)} messages, up to ${BULK_IN_FLIGHT} in flight`;
  const runs = `median of ${o.runs} run${o.runs === 1 ? '' : 's'}`;
  switch (workload) {
    case 'a':
      return `(a) Throughput, ${o.messages.toLocaleString('en-US')} messages x 1 endpoint, ${calls}; ${runs}`;
    case 'b':
      return `(b) Fan-out, ${o.fanoutMessages} messages x ${o.fanoutEndpoints} endpoints, ${calls}; ${runs}`;
    case 'c':
      return `(c) Latency at ${o.rate} msg/s for ${o.durationSeconds} s (open loop), publish to receipt; ${runs}`;
    case 'd':
      return (
        `(d) Backlog: ${o.backlog.toLocaleString('en-US')} pending, first ${o.backlogDrain.toLocaleString('en-US')} drained; ` +
        `${o.backlogRuns} run${o.backlogRuns === 1 ? ' (seeding the backlog for each contender dominates the suite time)' : 's'}`
      );
    case 'e':
      return `(e) Slow receiver: ${o.slowMessages.toLocaleString('en-US')} messages to a fast endpoint, alone and beside one answering in ${o.slowMs} ms; ${runs}`;
  }
}

function tableFor(
  summaries: readonly Summary[],
  workload: WorkloadId,
  mode: RunMode,
  columns: readonly Column[],
): string[] {
  const rows: string[][] = [];
  const herald = findSummary(summaries, workload, mode, 'herald-sqlite');
  const limit = findSummary(summaries, workload, mode, 'limit');
  for (const name of CONTENDER_NAMES) {
    const row = findSummary(summaries, workload, mode, name);
    if (row === undefined) continue;
    rows.push([rowName(row), ...columns.map((c) => c.cell(row, herald, limit))]);
  }
  return markdownTable(['contender', ...columns.map((c) => c.title)], rows);
}

/** The name, marked when some of its runs timed out. */
const rowName = (s: Summary) => (s.incomplete > 0 ? `${s.contender} *` : s.contender);

/** (e) needs both halves on one row. */
function slowReceiverTable(summaries: readonly Summary[]): string[] {
  const rows: string[][] = [];
  for (const name of CONTENDER_NAMES) {
    const solo = findSummary(summaries, 'e', 'solo', name);
    const slow = findSummary(summaries, 'e', 'with-slow', name);
    if (solo === undefined && slow === undefined) continue;
    const incomplete = (solo?.incomplete ?? 0) + (slow?.incomplete ?? 0) > 0;
    rows.push([
      incomplete ? `${name} *` : name,
      fmtCount(at(solo, 'fastPerSecond')),
      fmtCount(at(slow, 'fastPerSecond')),
      fmtPercent(at(slow, 'fastPerSecond') / at(solo, 'fastPerSecond')),
      fmtCount(at(slow, 'slowDelivered')),
    ]);
  }
  const header = ['contender', 'fast/s alone', 'fast/s beside slow', 'kept', 'slow delivered'];
  return markdownTable(header, rows);
}

/** (d) with the same contender's drain from a small queue beside the drain from the backlog. */
function backlogTable(summaries: readonly Summary[]): string[] {
  const smallRate = (s: Summary) =>
    at(findSummary(summaries, 'd', 'drain-small', s.contender), 'drainPerSecond');
  return tableFor(summaries, 'd', 'drain', [
    value('seeded msg/s', 'seedPerSecond', fmtCount),
    value('drain deliveries/s', 'drainPerSecond', fmtCount),
    { title: 'small-queue drain/s', cell: (row) => fmtCount(smallRate(row)) },
    {
      title: 'backlog / small',
      cell: (row) => fmtRatio(at(row, 'drainPerSecond') / smallRate(row)),
    },
    rss,
    value('largest process MiB', 'largestProcessRssMiB', fmtMiB),
  ]);
}

/** Every table, each under a heading line, then the notes. */
export function suiteTables(summaries: readonly Summary[], options: SuiteOptions): string[] {
  const lines: string[] = [];
  const has = (workload: WorkloadId, mode: RunMode) =>
    summaries.some((s) => s.workload === workload && s.mode === mode);
  const section = (workload: WorkloadId, mode: RunMode, table: string[]) => {
    lines.push(heading(workload, mode, options), '', ...table, '');
  };
  for (const workload of options.workloads) {
    if (workload === 'a' || workload === 'b') {
      for (const mode of options.modes) {
        if (has(workload, mode))
          section(workload, mode, tableFor(summaries, workload, mode, RATE_COLUMNS));
      }
    } else if (workload === 'c' && has('c', 'one')) {
      section(
        'c',
        'one',
        tableFor(summaries, 'c', 'one', [
          value('p50 ms', 'p50Ms', fmtMs),
          value('p99 ms', 'p99Ms', fmtMs),
          value('max ms', 'maxMs', fmtMs),
          versusHerald('p99Ms', false),
          value('publisher lag ms', 'publisherMaxLagMs', fmtMs),
          rss,
        ]),
      );
    } else if (workload === 'd' && has('d', 'drain')) {
      section('d', 'drain', backlogTable(summaries));
    } else if (workload === 'e' && (has('e', 'solo') || has('e', 'with-slow'))) {
      section('e', 'solo', slowReceiverTable(summaries));
    }
  }
  lines.push(
    'vs Herald SQLite: Herald SQLite / the row for rates, the row / Herald SQLite for latencies (above 1x, Herald SQLite is ahead).',
    'Peak RSS: VmHWM of the processes doing the work (Herald, or the baseline worker child), not Redis or PostgreSQL.',
  );
  if (summaries.some((s) => s.incomplete > 0)) {
    lines.push(
      '* some runs timed out before every delivery arrived; their figures count what came.',
    );
  }
  return lines;
}
