// (c) Latency: a steady --rate messages per second for --duration seconds to one destination,
// open loop (message i is published at start + i / rate, whatever happened to the ones before
// it), one publish call each. Publish-to-receive latency as the receiver measures it from the
// `sentAt` each payload carries.
import type { Contender } from '../contender.ts';
import {
  commonFigures,
  destination,
  measureDeliveries,
  type RunCommon,
  type RunKey,
  type WorkloadContext,
  warmUp,
  withInstance,
} from './harness.ts';
import { publishAtRate } from './publish.ts';

export interface LatencyResult extends RunCommon {
  readonly workload: 'c';
  readonly mode: 'one';
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How far the publisher fell behind its schedule at worst (a slow publish path shows here). */
  readonly publisherMaxLagMs: number;
  /** Response time of the publish calls. */
  readonly publishCallP99Ms: number;
}

export function runLatency(
  contender: Contender,
  ctx: WorkloadContext,
  key: RunKey,
): Promise<LatencyResult> {
  const label = `c-one-${key.run}-${contender.name}`;
  return withInstance(contender, ctx, label, false, async (instance) => {
    await warmUp(contender, instance, ctx, label);
    await instance.configure([destination(ctx, 0)]);
    const { rate, durationSeconds } = ctx.options;
    const count = Math.round(rate * durationSeconds);
    const measured = await measureDeliveries(ctx, label, count, 1, () =>
      publishAtRate(instance, label, rate, durationSeconds),
    );
    const { published, stats } = measured;
    return {
      workload: 'c',
      mode: 'one',
      ...commonFigures(key, measured, instance),
      p50Ms: stats.p50Ms,
      p99Ms: stats.p99Ms,
      maxMs: stats.maxMs,
      publisherMaxLagMs: published.maxLagMs,
      publishCallP99Ms: published.callP99Ms,
    };
  });
}
