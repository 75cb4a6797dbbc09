import { THROTTLE_BURST_MS } from '../../core/throttle.ts';
import {
  CIRCUIT_COLUMNS,
  type CircuitColumns,
  CLOSED_CIRCUIT_SET,
  circuitFromRow,
} from '../circuit-columns.ts';
import type { EndpointProtectionStore, SendReservation } from '../endpoint-protection-store.ts';
import { prepared } from './claim-queries.ts';
import { type PgDatabase, translatePgError } from './database.ts';

/**
 * A throttle reservation in ONE statement: core/throttle.ts's `reserveThrottle`, operation for
 * operation in float8 (so both backends round alike), applied to the row's current rate and
 * `tat` and written back. It is a compare-and-set rather than a locking read: `cur` reads the row
 * as of the statement's snapshot, and the UPDATE writes only while the row still holds that
 * `tat` and rate. When another process reserved in between, the UPDATE (after waiting for that
 * row lock) re-checks the newer row, finds it changed and writes nothing: no rows come back, and
 * the caller tries again. No lock is held before the UPDATE, so it cannot deadlock.
 * `$1` endpoint id, `$2` now, `$3` sends wanted, `$4` burst milliseconds.
 */
const RESERVE = `WITH cur AS (
    SELECT throttle_rate AS rate, throttle_tat AS tat,
      GREATEST(COALESCE(throttle_tat, $2::float8), $2::float8) AS base,
      1000 / throttle_rate::float8 AS step,
      (GREATEST(1, floor(throttle_rate::float8 * $4::float8 / 1000)) - 1)
        * (1000 / throttle_rate::float8) AS tolerance
    FROM endpoints WHERE id = $1 AND throttle_rate IS NOT NULL),
  reserved AS (
    SELECT rate, tat, base, step,
      LEAST($3::int, GREATEST(0, floor(($2::float8 + tolerance - base) / step) + 1))::int AS granted
    FROM cur)
  UPDATE endpoints e SET throttle_tat = r.base + r.granted * r.step
  FROM reserved r
  WHERE e.id = $1 AND e.throttle_rate = r.rate AND e.throttle_tat IS NOT DISTINCT FROM r.tat
  RETURNING r.granted, r.rate, e.throttle_tat AS tat`;

/** Compare-and-set rounds before a reservation gives up for now (granting nothing). */
const MAX_RESERVE_ROUNDS = 4;

const TAKE_PROBE = `UPDATE endpoints SET circuit_probe_at = $2::int8, circuit_open_until = $2::int8 + $3::int8
  WHERE id = $1 AND circuit_open_until IS NOT NULL AND circuit_open_until <= $2::int8
  RETURNING ${CIRCUIT_COLUMNS}`;

/** Throttle reservations and circuit probes on PostgreSQL: single-row statements. */
export function pgEndpointProtection(db: PgDatabase): EndpointProtectionStore {
  /** The reservation, or (another process reserved first) the rate to try again under. */
  async function reserveOnce(
    endpointId: string,
    now: number,
    want: number,
  ): Promise<SendReservation | { contended: number }> {
    let rows: { granted: number; rate: number; tat: number }[];
    try {
      const query = prepared({ text: RESERVE, values: [endpointId, now, want, THROTTLE_BURST_MS] });
      rows = (await db.pool.query<{ granted: number; rate: number; tat: number }>(query)).rows;
    } catch (error) {
      throw translatePgError(error);
    }
    const row = rows[0];
    if (row !== undefined)
      return { granted: row.granted, ratePerSecond: row.rate, nextAt: row.tat };
    // Not throttled (or no more), gone, or another process reserved first: look.
    const [current] = await db.rows<{ throttle_rate: number | null }>(
      'SELECT throttle_rate FROM endpoints WHERE id = $1',
      [endpointId],
    );
    if (current === undefined) return { granted: 0, ratePerSecond: null, nextAt: null };
    if (current.throttle_rate === null) return { granted: want, ratePerSecond: null, nextAt: null };
    return { contended: current.throttle_rate };
  }

  return {
    async reserveSends({ endpointId, now, want }) {
      for (let round = 1; ; round++) {
        const reservation = await reserveOnce(endpointId, now, want);
        if (!('contended' in reservation)) return reservation;
        if (round >= MAX_RESERVE_ROUNDS) {
          // Contended that hard, the sends are going to others anyway: try again a little later.
          const rate = reservation.contended;
          return { granted: 0, ratePerSecond: rate, nextAt: now + THROTTLE_BURST_MS };
        }
      }
    },
    async takeCircuitProbe({ endpointId, now, leaseMs }) {
      const taken = await db.rows<CircuitColumns>(TAKE_PROBE, [endpointId, now, leaseMs]);
      if (taken[0] !== undefined) return { taken: true, circuit: circuitFromRow(taken[0]) };
      const [row] = await db.rows<CircuitColumns>(
        `SELECT ${CIRCUIT_COLUMNS} FROM endpoints WHERE id = $1`,
        [endpointId],
      );
      return row === undefined ? null : { taken: false, circuit: circuitFromRow(row) };
    },
    async releaseCircuitProbe({ endpointId, probeAt, now }) {
      await db.rows(
        `UPDATE endpoints SET circuit_open_until = $3::int8, circuit_probe_at = NULL
         WHERE id = $1 AND circuit_probe_at = $2::int8`,
        [endpointId, probeAt, now],
      );
    },
    async closeCircuit(appId, endpointId) {
      const rows = await db.rows(
        `UPDATE endpoints SET ${CLOSED_CIRCUIT_SET} WHERE app_id = $1 AND id = $2 RETURNING id`,
        [appId, endpointId],
      );
      return rows.length === 1;
    },
  };
}
