// (e) Slow receiver: --slow-messages messages, one publish call each (--concurrency in flight),
// each to a fast destination (/ep/0) and, in the `with-slow` half, also to a slow one (/slow/0,
// answered after --slow-ms). Fast throughput = fast deliveries / (first publish -> last fast
// receipt); the run ends when the fast destination has everything, without waiting for the
// slow one. The `solo` half (fast destination only, same count, a fresh instance of the same
// contender in the same suite run) is what the with-slow figure is compared with.
import type { Contender } from '../contender.ts';
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
import { publishOneByOne } from './publish.ts';

export type SlowReceiverHalf = 'solo' | 'with-slow';

export interface SlowReceiverResult extends RunCommon {
  readonly workload: 'e';
  readonly mode: SlowReceiverHalf;
  /** Deliveries/s to the fast destination. */
  readonly fastPerSecond: number;
  /** Slow deliveries the receiver had taken when the fast destination had everything. */
  readonly slowDelivered: number;
}

export function runSlowReceiver(
  contender: Contender,
  ctx: WorkloadContext,
  key: RunKey,
  half: SlowReceiverHalf,
): Promise<SlowReceiverResult> {
  const label = `e-${half}-${key.run}-${contender.name}`;
  return withInstance(contender, ctx, label, false, async (instance) => {
    await warmUp(contender, instance, ctx, label);
    const fast = destination(ctx, 0);
    await instance.configure(half === 'solo' ? [fast] : [fast, destination(ctx, 0, 'slow')]);
    const { slowMessages: messages, concurrency } = ctx.options;
    const measured = await measureDeliveries(ctx, label, messages, 1, () =>
      publishOneByOne(instance, label, messages, concurrency),
    );
    const { published, stats } = measured;
    return {
      workload: 'e',
      mode: half,
      ...commonFigures(key, measured, instance),
      fastPerSecond: perSecond(stats.unique, published.startedAt, stats.lastAt),
      slowDelivered: stats.slowUnique,
    };
  });
}
