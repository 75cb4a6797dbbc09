import type Database from 'better-sqlite3';
import type { CircuitSettings, CircuitState } from '../../core/circuit-breaker.ts';
import {
  CIRCUIT_COLUMNS,
  type CircuitColumns,
  circuitFromRow,
  circuitToRow,
} from '../circuit-columns.ts';
import { applyCircuitOutcomes } from '../circuit-outcomes.ts';
import type { CircuitChange, DeliveryOutcome } from '../delivery-store.ts';

type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;
type Before = Map<string, { appId: string; circuit: CircuitState }>;

/**
 * The circuit breaker's part of recording a batch on SQLite (see store/circuit-outcomes.ts): read
 * the circuits the batch needs before it writes anything, and write what its attempts made of
 * them after, in the batch's transaction.
 */
export function sqliteCircuitWrites(db: Database.Database) {
  const read = db.prepare(`SELECT app_id, ${CIRCUIT_COLUMNS} FROM endpoints WHERE id = ?`);
  const write = db.prepare(
    `UPDATE endpoints SET circuit_failures = @circuit_failures, circuit_trips = @circuit_trips,
       circuit_open_until = @circuit_open_until, circuit_probe_at = @circuit_probe_at
     WHERE id = @id`,
  );
  return {
    read(endpointIds: ReadonlySet<string>): Before {
      const before: Before = new Map();
      for (const id of endpointIds) {
        const row = read.get(id) as (CircuitColumns & { app_id: string }) | undefined;
        if (row !== undefined) before.set(id, { appId: row.app_id, circuit: circuitFromRow(row) });
      }
      return before;
    },
    write(
      applied: readonly Attempted[],
      before: Before,
      now: number,
      settings: CircuitSettings,
    ): CircuitChange[] {
      if (before.size === 0) return [];
      const { writes, changes } = applyCircuitOutcomes(applied, before, now, settings);
      for (const { endpointId, circuit } of writes) {
        write.run({ id: endpointId, ...circuitToRow(circuit) });
      }
      return changes;
    },
  };
}
