import type Database from 'better-sqlite3';
import { reserveThrottle } from '../../core/throttle.ts';
import {
  CIRCUIT_COLUMNS,
  type CircuitColumns,
  CLOSED_CIRCUIT_SET,
  circuitFromRow,
} from '../circuit-columns.ts';
import type { EndpointProtectionStore } from '../endpoint-protection-store.ts';

/**
 * Throttle reservations and circuit probes on SQLite: each one immediate transaction, reading
 * the endpoint row and writing it back, with the same arithmetic as PostgreSQL's single
 * statements (core/throttle.ts).
 */
export function sqliteEndpointProtection(db: Database.Database): EndpointProtectionStore {
  const throttleOf = db.prepare('SELECT throttle_rate, throttle_tat FROM endpoints WHERE id = ?');
  const setTat = db.prepare('UPDATE endpoints SET throttle_tat = ? WHERE id = ?');
  const circuitOf = db.prepare(`SELECT ${CIRCUIT_COLUMNS} FROM endpoints WHERE id = ?`);
  const takeProbe = db.prepare(
    `UPDATE endpoints SET circuit_probe_at = @now, circuit_open_until = @until
     WHERE id = @id AND circuit_open_until IS NOT NULL AND circuit_open_until <= @now`,
  );
  const releaseProbe = db.prepare(
    `UPDATE endpoints SET circuit_open_until = @now, circuit_probe_at = NULL
     WHERE id = @id AND circuit_probe_at = @probeAt`,
  );
  const close = db.prepare(
    `UPDATE endpoints SET ${CLOSED_CIRCUIT_SET} WHERE app_id = ? AND id = ?`,
  );

  const reserveTx = db.transaction((endpointId: string, now: number, want: number) => {
    const row = throttleOf.get(endpointId) as
      | { throttle_rate: number | null; throttle_tat: number | null }
      | undefined;
    if (row === undefined) return { granted: 0, ratePerSecond: null, nextAt: null };
    if (row.throttle_rate === null) return { granted: want, ratePerSecond: null, nextAt: null };
    const grant = reserveThrottle(row.throttle_tat, row.throttle_rate, now, want);
    setTat.run(grant.tat, endpointId);
    return { granted: grant.granted, ratePerSecond: row.throttle_rate, nextAt: grant.tat };
  });

  const probeTx = db.transaction((id: string, now: number, leaseMs: number) => {
    const taken = takeProbe.run({ id, now, until: now + leaseMs }).changes === 1;
    const row = circuitOf.get(id) as CircuitColumns | undefined;
    return row === undefined ? null : { taken, circuit: circuitFromRow(row) };
  });

  return {
    async reserveSends({ endpointId, now, want }) {
      return reserveTx.immediate(endpointId, now, want);
    },
    async takeCircuitProbe({ endpointId, now, leaseMs }) {
      return probeTx.immediate(endpointId, now, leaseMs);
    },
    async releaseCircuitProbe({ endpointId, probeAt, now }) {
      releaseProbe.run({ id: endpointId, probeAt, now });
    },
    async closeCircuit(appId, endpointId) {
      return close.run(appId, endpointId).changes === 1;
    },
  };
}
