import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, heap, event-loop lag, handles, GC), under their
 * usual names (`process_*`, `nodejs_*`) so stock dashboards and alerts work. They describe the
 * process, not a node, so one registry serves every Herald node in the process (tests and
 * library mode may run several): collecting them per node would start one event-loop monitor
 * and one GC observer per node, never stopped. Made on first use, not at import.
 */
export function processMetrics(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
