// (b) Fan-out: --fanout-messages messages, each to all --fanout-endpoints destinations
// (/ep/0 .. /ep/N-1). `one`: one publish call per message, --concurrency in flight; `bulk`:
// chunks of floor(1000 / N) messages (20 for 50 destinations) for every contender, so that a
// baseline's bulk call enqueues at most 1,000 jobs and Herald gets the same chunks; up to 4
// calls in flight. Deliveries/s from the first publish to the last receipt.
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
import { BULK_CHUNK, BULK_IN_FLIGHT } from './throughput.ts';

export interface FanoutResult extends RunCommon {
  readonly workload: 'b';
  readonly mode: PublishMode;
  readonly deliveriesPerSecond: number;
  /** Messages accepted per second. */
  readonly publishesPerSecond: number;
  readonly p99Ms: number;
}

/** Messages per bulk call with `endpoints` destinations: at most 1,000 jobs per call. */
export const fanoutChunk = (endpoints: number) => Math.max(1, Math.floor(BULK_CHUNK / endpoints));

export function runFanout(
  contender: Contender,
  ctx: WorkloadContext,
  key: RunKey,
  mode: PublishMode,
): Promise<FanoutResult> {
  const label = `b-${mode}-${key.run}-${contender.name}`;
  return withInstance(contender, ctx, label, false, async (instance) => {
    await warmUp(contender, instance, ctx, label);
    const { fanoutMessages: messages, fanoutEndpoints: endpoints, concurrency } = ctx.options;
    await instance.configure(Array.from({ length: endpoints }, (_, i) => destination(ctx, i)));
    const measured = await measureDeliveries(ctx, label, messages, endpoints, () =>
      mode === 'one'
        ? publishOneByOne(instance, label, messages, concurrency)
        : publishInChunks(instance, label, messages, fanoutChunk(endpoints), BULK_IN_FLIGHT),
    );
    const { published, stats } = measured;
    return {
      workload: 'b',
      mode,
      ...commonFigures(key, measured, instance),
      deliveriesPerSecond: perSecond(stats.unique, published.startedAt, stats.lastAt),
      publishesPerSecond: perSecond(published.accepted, published.startedAt, published.endedAt),
      p99Ms: stats.p99Ms,
    };
  });
}
