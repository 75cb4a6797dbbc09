import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import type { PublishTracer } from '../services/publish-message.ts';
import type { Store } from '../store/store.ts';

/** What the HTTP layer needs from the rest of Herald. Built once by `server.ts`. */
export interface ApiContext {
  readonly store: Store;
  readonly config: Config;
  readonly clock: Clock;
  readonly newId: IdGenerator;
  /**
   * Wakes the dispatcher once new deliveries are committed, so they go out without polling
   * delay. Pass the earliest due time among them: it may be older than the dispatcher's last look.
   */
  readonly wakeDispatcher: (earliestDueAt: number) => void;
  /** Reports whether the dispatcher is running, for the health check. */
  readonly dispatcherRunning: () => boolean;
  /** Traces publishes when tracing is on (`otelExporterUrl`); absent otherwise. */
  readonly publishTracer?: PublishTracer | undefined;
}
