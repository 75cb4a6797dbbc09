import type { Logger } from 'pino';
import type { Refusal } from './guarded-connect.ts';

/** A host name's refusals are logged at warn at most once per this interval, else at debug. */
const REFUSAL_WARN_INTERVAL_MS = 60_000;
/** Host names remembered for that; past this many the memory starts again (bounded). */
const MAX_HOSTS = 1_000;

/**
 * Logs refused connections for the operator, with the addresses each name resolved to and
 * their ranges (which the tenant's attempt log does not show). An endpoint retrying against a
 * blocked name would write a warning per attempt: one warning per name per minute is enough to
 * see it, the rest go to debug.
 */
export function createRefusalLog(
  logger: Logger,
  now: () => number = Date.now,
): (refusal: Refusal) => void {
  const lastWarned = new Map<string, number>();
  return ({ hostname, verdicts }) => {
    const addresses = verdicts.map((v) => `${v.address} (${v.range})`);
    const fields = { host: hostname, addresses };
    const at = now();
    const last = lastWarned.get(hostname);
    if (last !== undefined && at - last < REFUSAL_WARN_INTERVAL_MS) {
      logger.debug(fields, 'refused to connect to a blocked address');
      return;
    }
    if (lastWarned.size >= MAX_HOSTS) lastWarned.clear();
    lastWarned.set(hostname, at);
    logger.warn(
      fields,
      'refused to connect to a blocked address (HERALD_ALLOW_NETWORKS opens a network); further refusals for this host within a minute are logged at debug',
    );
  };
}
