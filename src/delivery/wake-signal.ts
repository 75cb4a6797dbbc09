/**
 * Lets the dispatcher loop sleep until something happens or a timeout passes. Signals that
 * arrive while the loop is busy are remembered, so none is lost. Waking is deferred to
 * `setImmediate`, so every signal raised in one turn of the event loop (a burst of published
 * messages, many attempts finishing together) leads to one claim, not one each.
 */
export interface WakeSignal {
  signal(): void;
  /** Resolves on the next signal (at once if one came since the last wait) or after `ms`. */
  wait(ms: number): Promise<void>;
}

export function createWakeSignal(): WakeSignal {
  let pending = false;
  let resolveWait: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;

  const fire = () => {
    scheduled = false;
    const resolve = resolveWait;
    if (resolve === null) return;
    resolveWait = null;
    clearTimeout(timer);
    resolve();
  };

  return {
    signal() {
      if (resolveWait === null) {
        pending = true;
        return;
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(fire);
      }
    },
    wait(ms) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        resolveWait = resolve;
        timer = setTimeout(fire, Math.max(0, ms));
        // The loop's sleep alone must not keep the process alive.
        timer.unref();
      });
    },
  };
}
