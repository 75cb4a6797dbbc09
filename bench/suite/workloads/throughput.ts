// (a) Throughput: --messages messages of ~1 KB to one destination, as fast as the mode allows:
// `one`, one publish call per message with --concurrency (64) in flight; `bulk`, the bulk API in
// chunks of 1,000 messages with up to 4 calls in flight. Deliveries/s from the first publish to
// the last receipt.
import type { Contender } from '../contender.ts';
import type { PublishMode } from '../options.ts';
import {
  commonFigures,
  destination,
  measureDeliveries,
  perSecond,
  type RunCommon,
  type RunKey,
  type WorkloadContext,
  warmUp,
  withInstance,
} from './harness.ts';
import { publishInChunks, publishOneByOne } from './publish.ts';

/** Messages per bulk call, and bulk calls in flight. */
export const BULK_CHUNK = 1000;
export const BULK_IN_FLIGHT = 4;

export interface ThroughputResult extends RunCommon {
  readonly workload: 'a';
  readonly mode: PublishMode;
  readonly deliveriesPerSecond: number;
  /** Messages accepted per second, from the first publish call to the last one's answer. */
  readonly publishesPerSecond: number;
  /** Publish-to-receive latency (mostly queueing at full speed). */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function runThroughput(
  contender: Contender,
  ctx: WorkloadContext,
  key: RunKey,
  mode: PublishMode,
): Promise<ThroughputResult> {
  const label = `a-${mode}-${key.run}-${contender.name}`;
  return withInstance(contender, ctx, label, false, async (instance) => {
    await warmUp(contender, instance, ctx, label);
    await instance.configure([destination(ctx, 0)]);
    const { messages, concurrency } = ctx.options;
    const measured = await measureDeliveries(ctx, label, messages, 1, () =>
      mode === 'one'
        ? publishOneByOne(instance, label, messages, concurrency)
        : publishInChunks(instance, label, messages, BULK_CHUNK, BULK_IN_FLIGHT),
    );
    const { published, stats } = measured;
    return {
      workload: 'a',
      mode,
      ...commonFigures(key, measured, instance),
      deliveriesPerSecond: perSecond(stats.unique, published.startedAt, stats.lastAt),
      publishesPerSecond: perSecond(published.accepted, published.startedAt, published.endedAt),
      p50Ms: stats.p50Ms,
      p99Ms: stats.p99Ms,
    };
  });
}
