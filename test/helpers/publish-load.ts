import { setTimeout as delay } from 'node:timers/promises';
import type { HeraldClient } from '../process/api-client.ts';

/** One Herald node publishers may send to. */
export interface LoadTarget {
  name: string;
  client: HeraldClient;
  /** False once the test has killed the node: errors from it are then expected. */
  alive(): boolean;
}

export interface PublishLoadOptions {
  targets: readonly LoadTarget[];
  appId: string;
  /** Concurrent publish loops; each sends to the live targets in turn. */
  publishers: number;
  /** Bounds: the load stops after this many publish requests or this long, whichever first. */
  maxMessages: number;
  maxMs: number;
  /** The event type of message `seq` (endpoints may filter on it). */
  eventType(seq: number): string;
  /**
   * A publisher that got a 503 or an error waits this long before its next request (default 0),
   * so a database outage does not spend the message budget on refusals in a tight loop.
   */
  backoffMs?: number;
  /**
   * Each publisher waits this long after each request (default 0: closed loop), which bounds the
   * rate at about publishers x 1000 / paceMs per second: a queue that never backs up.
   */
  paceMs?: number;
}

/** What the publishers saw. Every 2xx is a promise that the message will be delivered. */
export interface PublishTally {
  /** Accepted message id -> its event type. */
  readonly accepted: Map<string, string>;
  sent: number;
  /** Accepted per target name (shows every node took part). */
  readonly acceptedBy: Map<string, number>;
  /** 503 answers whose JSON body has `code: 'service_unavailable'`. */
  serviceUnavailable: number;
  /** ...per target name. */
  readonly serviceUnavailableBy: Map<string, number>;
  /** Request errors (connection refused or reset) from nodes the test killed. */
  errorsFromDeadNodes: number;
  /** Anything else: other statuses, 503 without the JSON error, errors from live nodes. */
  readonly unexpected: string[];
}

export interface PublishLoad {
  readonly tally: PublishTally;
  /** Asks the publishers to stop and resolves when every request in flight has ended. */
  stop(): Promise<PublishTally>;
  /** Resolves when the load ends by itself (bounds reached) or after `stop()`. */
  readonly done: Promise<PublishTally>;
}

/**
 * Publishes over HTTP to several Herald nodes at once, from `publishers` concurrent loops, and
 * tallies every answer. The loops never retry: a message counts as accepted only if its own
 * request got a 2xx, which is exactly what Herald promises to deliver.
 */
export function startPublishLoad(options: PublishLoadOptions): PublishLoad {
  const tally: PublishTally = {
    accepted: new Map(),
    sent: 0,
    acceptedBy: new Map(),
    serviceUnavailable: 0,
    serviceUnavailableBy: new Map(),
    errorsFromDeadNodes: 0,
    unexpected: [],
  };
  const startedAt = Date.now();
  let stopping = false;
  let turn = 0;
  const bump = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1);

  const next = (): LoadTarget | undefined => {
    const live = options.targets.filter((t) => t.alive());
    if (live.length === 0) return undefined;
    return live[turn++ % live.length];
  };

  const publisher = async (worker: number) => {
    while (
      !stopping &&
      tally.sent < options.maxMessages &&
      Date.now() - startedAt < options.maxMs
    ) {
      const target = next();
      if (target === undefined) return;
      const seq = tally.sent++;
      const eventType = options.eventType(seq);
      let refused = true;
      try {
        const res = await target.client.call('POST', `/api/v1/app/${options.appId}/msg`, {
          eventType,
          payload: { worker, seq, padding: 'x'.repeat(200) },
        });
        if (res.status >= 200 && res.status < 300 && typeof res.body?.id === 'string') {
          tally.accepted.set(res.body.id, eventType);
          bump(tally.acceptedBy, target.name);
          refused = false;
        } else if (res.status === 503 && res.body?.code === 'service_unavailable') {
          tally.serviceUnavailable++;
          bump(tally.serviceUnavailableBy, target.name);
        } else {
          tally.unexpected.push(`${target.name}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      } catch (error) {
        if (!target.alive()) tally.errorsFromDeadNodes++;
        else tally.unexpected.push(`${target.name}: request error ${(error as Error).message}`);
      }
      // Pacing, not synchronisation: nothing waits on these.
      if (refused && (options.backoffMs ?? 0) > 0) await delay(options.backoffMs);
      if ((options.paceMs ?? 0) > 0) await delay(options.paceMs);
    }
  };

  const done = Promise.all(
    Array.from({ length: options.publishers }, (_, worker) => publisher(worker)),
  ).then(() => tally);
  return {
    tally,
    done,
    stop() {
      stopping = true;
      return done;
    },
  };
}
