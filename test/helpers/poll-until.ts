import { setTimeout as delay } from 'node:timers/promises';

/**
 * Checks `condition` every `intervalMs` until it holds, and rejects with `describe()` once
 * `timeoutMs` has passed. For conditions no event announces (a row count in PostgreSQL, a
 * process that must answer again), where a test would otherwise sleep and hope.
 */
export async function pollUntil(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 50;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms: ${options.describe()}`);
    }
    await delay(intervalMs);
  }
}
