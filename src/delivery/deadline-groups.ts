import { setMaxListeners } from 'node:events';

/** Attempts started within one window share an abort controller and a deadline timer. */
export interface DeadlineGroup {
  readonly controller: AbortController;
  /** True once the group's deadline passed (its requests were aborted for time). */
  timedOut: boolean;
}

interface Group extends DeadlineGroup {
  /** No attempt joins after this (performance.now() ms). */
  closesAt: number;
  pending: number;
  timer: NodeJS.Timeout;
}

/**
 * The deadline of every attempt, without a controller and a timer per attempt (both showed in
 * the hot path's profile): attempts that start within the same `windowMs` join one group, whose
 * single timer aborts them all `windowMs + timeoutMs` after the group opened. So each attempt
 * gets at least `timeoutMs` and at most `timeoutMs + windowMs`. A group whose attempts all ended
 * is dropped with its timer; one attempt alone in a group costs what it did before.
 */
export function createDeadlineGroups(timeoutMs: number, windowMs = Math.min(100, timeoutMs / 10)) {
  const groups = new Set<Group>();
  let open: Group | undefined;

  function drop(group: Group): void {
    clearTimeout(group.timer);
    groups.delete(group);
    if (open === group) open = undefined;
  }

  return {
    /** The group an attempt starting at `now` belongs to. */
    join(now: number): DeadlineGroup {
      if (open === undefined || now >= open.closesAt) {
        if (open !== undefined && open.pending === 0) drop(open);
        const controller = new AbortController();
        // Every attempt of the group listens on this one signal.
        setMaxListeners(0, controller.signal);
        const group: Group = {
          controller,
          timedOut: false,
          closesAt: now + windowMs,
          pending: 0,
          timer: setTimeout(() => {
            group.timedOut = true;
            drop(group);
            controller.abort();
          }, windowMs + timeoutMs),
        };
        // Requests in flight keep the process alive by their sockets; an empty group's timer
        // (kept for reuse until its window closes) must not.
        group.timer.unref();
        groups.add(group);
        open = group;
      }
      open.pending++;
      return open;
    },
    /** An attempt of `group` ended. */
    leave(group: DeadlineGroup, now: number): void {
      const g = group as Group;
      g.pending--;
      if (g.pending === 0 && (g !== open || now >= g.closesAt)) drop(g);
    },
    /** Aborts every attempt in flight (they resolve as network failures). */
    abortAll(): void {
      for (const group of [...groups]) {
        drop(group);
        group.controller.abort();
      }
    },
  };
}

/**
 * `pending`, or undefined once `group` is aborted (its deadline, or `abortAll`), whichever comes
 * first. undici leaves a request that waits for its connection unsettled until the connection
 * attempt ends, however long that takes (an SSRF-guard DNS lookup that never answers, blackholed
 * addresses tried one after the other), and the deadline must hold anyway. The abort listener
 * is removed as soon as `pending` settles: a reaction left on a long-lived group promise would
 * keep every response of the group alive until the group ends (measured: +50 MiB RSS at
 * 3,000 deliveries/s).
 */
export function settleWithin<T>(pending: Promise<T>, group: DeadlineGroup): Promise<T | undefined> {
  const signal = group.controller.signal;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
