/**
 * The bench's webhook receiver, run as a child process (forked by run.ts) so that its work
 * does not share an event loop with the publisher. It answers every POST with 200 and an empty
 * body, and measures publish-to-receive latency from the `sentAt` the publisher embedded in
 * the payload (milliseconds on the machine's monotonic clock, which processes share; see
 * `monotonicMs`).
 *
 * A path starting with `/slow/` stands for a slow receiver: it is answered after the run's
 * `slowMs`, and its deliveries are counted apart (`slowUnique`), neither in `unique` nor toward
 * `expected`, so a run can end as soon as the fast destinations have everything.
 *
 * Messages from the parent (`ReceiverCommand`): `{ type: 'reset', runId, expected, slowMs }`
 * starts counting afresh; `{ type: 'expect', runId, expected }` corrects the expected count
 * (publishes that failed); `{ type: 'report', runId }` asks for the figures so far. It replies
 * `{ type: 'ready', port }` once listening, and `{ type: 'done' | 'report', runId, stats }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceiverCommand, ReceiverStats } from './protocol.ts';
import { monotonicMs, percentile } from './stats.ts';

const send = (message: unknown) => process.send?.(message);
const SENT_AT = /"sentAt":\s*([0-9.]+)/;

let runId = '';
let expected = Number.POSITIVE_INFINITY;
let seen = new Set<string>();
let slowSeen = new Set<string>();
let slowMs = 0;
let total = 0;
let firstAt = 0;
let lastAt = 0;
let latencies = new Float64Array(1024);
/** Worst latency per second of receipt (from the first receipt), to tell a stall from a warm-up. */
let worstBySecond: number[] = [];
let doneSent = false;

function stats(): ReceiverStats {
  const sorted = latencies.slice(0, seen.size).sort();
  return {
    unique: seen.size,
    slowUnique: slowSeen.size,
    total,
    duplicates: total - seen.size - slowSeen.size,
    firstAt,
    lastAt,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    worstBySecond: worstBySecond.map((ms) => Math.round(ms * 10) / 10),
  };
}

function checkDone(): void {
  if (!doneSent && seen.size >= expected) {
    doneSent = true;
    send({ type: 'done', runId, stats: stats() });
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const now = monotonicMs();
    total++;
    const key = `${req.url} ${req.headers['svix-id'] ?? req.headers['webhook-id'] ?? ''}`;
    if (req.url?.startsWith('/slow/') === true) {
      slowSeen.add(key);
      setTimeout(() => res.writeHead(200).end(), slowMs);
      return;
    }
    res.writeHead(200).end();
    if (seen.has(key)) return;
    // The publisher puts `sentAt` first; reading it from the head is cheaper than parsing 1 KB.
    const head = (chunks[0] ?? Buffer.alloc(0)).toString('latin1', 0, 64);
    const sentAt = Number(SENT_AT.exec(head)?.[1] ?? Number.NaN);
    if (seen.size === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[seen.size] = now - sentAt;
    seen.add(key);
    if (firstAt === 0) firstAt = now;
    const second = Math.floor((now - firstAt) / 1000);
    while (worstBySecond.length <= second) worstBySecond.push(0);
    worstBySecond[second] = Math.max(worstBySecond[second] ?? 0, now - sentAt);
    lastAt = now;
    checkDone();
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (message: ReceiverCommand) => {
  if (message.type === 'reset') {
    runId = message.runId;
    expected = message.expected ?? Number.POSITIVE_INFINITY;
    slowMs = message.slowMs ?? 0;
    seen = new Set();
    slowSeen = new Set();
    total = 0;
    firstAt = 0;
    lastAt = 0;
    worstBySecond = [];
    doneSent = false;
    send({ type: 'reset-ok', runId });
  } else if (message.type === 'expect' && message.runId === runId) {
    expected = message.expected;
    checkDone();
  } else if (message.type === 'report') {
    send({ type: 'report', runId, stats: stats() });
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
