// Numbers as the tables and progress lines print them.
import type { RunFailure, RunResult } from './results.ts';

const missing = (n: number | undefined): n is undefined => n === undefined || !Number.isFinite(n);

/** 12,345 (per second, counts). */
export const fmtCount = (n: number | undefined) =>
  missing(n) ? '–' : Math.round(n).toLocaleString('en-US');

/** Milliseconds: one decimal under 10 ms. */
export const fmtMs = (n: number | undefined) =>
  missing(n) ? '–' : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');

export const fmtMiB = (n: number | undefined) => (missing(n) ? '–' : Math.round(n).toString());

/** 1.53x */
export const fmtRatio = (n: number | undefined) => (missing(n) ? '–' : `${n.toFixed(2)}x`);

/** 87% */
export const fmtPercent = (n: number | undefined) => (missing(n) ? '–' : `${Math.round(n * 100)}%`);

/** One progress line for a run. */
export function describeRun(outcome: RunResult | RunFailure): string {
  const head = `${outcome.workload} ${outcome.mode} #${outcome.run} ${outcome.contender}`;
  if ('error' in outcome) return `${head}: CRASHED: ${outcome.error.split('\n')[0]}`;
  const r = outcome;
  const tail = [
    `${fmtCount(r.delivered)}/${fmtCount(r.expected)} delivered`,
    r.complete ? '' : 'INCOMPLETE',
    r.duplicates > 0 ? `${r.duplicates} duplicates` : '',
    r.publishFailed > 0 ? `${r.publishFailed} publishes failed (${r.firstPublishError})` : '',
    r.peakRssMiB === undefined ? '' : `peak RSS ${fmtMiB(r.peakRssMiB)} MiB`,
  ];
  let figures: string;
  switch (r.workload) {
    case 'a':
    case 'b':
      figures = `${fmtCount(r.deliveriesPerSecond)} deliveries/s, ${fmtCount(r.publishesPerSecond)} msg/s published, p99 ${fmtMs(r.p99Ms)} ms`;
      break;
    case 'c':
      figures = `p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms, max ${fmtMs(r.maxMs)} ms, publisher lag ${fmtMs(r.publisherMaxLagMs)} ms`;
      break;
    case 'd':
      figures = `seeded ${fmtCount(r.seeded)} at ${fmtCount(r.seedPerSecond)}/s, drained at ${fmtCount(r.drainPerSecond)}/s (first after ${fmtMs(r.firstDeliveryAfterMs)} ms)`;
      break;
    case 'e':
      figures = `fast ${fmtCount(r.fastPerSecond)} deliveries/s, ${fmtCount(r.slowDelivered)} slow delivered by then`;
      break;
  }
  return `${head}: ${[figures, ...tail].filter((s) => s !== '').join(', ')}`;
}

/**
 * A Markdown table with padded columns (readable in a terminal, pasted as is into README): the
 * first `leftAligned` columns to the left, the figures to the right.
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly string[][],
  leftAligned = 1,
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i < leftAligned ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < leftAligned ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}
