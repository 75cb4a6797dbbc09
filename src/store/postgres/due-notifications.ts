import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type PgDatabase, type Queryable, quoteIdent } from './database.ts';

/**
 * Wake-ups between Herald processes sharing one schema: whoever commits deliveries that are due
 * (a publish, a resend, a claim handed back) sends a NOTIFY, and every dispatcher LISTENs, so
 * none of them polls tightly. A notification is only a latency hint: a dispatcher still looks at
 * the queue on its own now and then, so a lost one (a dropped connection) delays, never loses.
 */
export interface DueNotifications {
  /** The Herald schema these notifications are about (library mode names its tables with it). */
  readonly schema: string;
  /** The channel, one per schema (`herald_due_<schema>`), so schemas never wake each other. */
  readonly channel: string;
  /**
   * Queues a NOTIFY carrying `earliestDueAt` inside the caller's transaction: PostgreSQL sends
   * it only if that transaction commits (at once when the client is not in one).
   */
  notify(client: Queryable, earliestDueAt: number): Promise<void>;
  /**
   * Subscribes; the first subscriber opens a dedicated LISTEN connection (`db.connect()`), kept
   * while anyone listens. The listener gets the due time each notification carries, and
   * `Number.MIN_SAFE_INTEGER` ("look at everything") each time the LISTEN is (re)established,
   * because whatever was committed while it was not in place went unheard. Returns the
   * unsubscribe function.
   */
  listen(listener: (earliestDueAt: number) => void): () => void;
  /**
   * Drops every subscriber and closes the LISTEN connection. Never hangs: it waits at most for
   * an attempt to open the connection to end (`establishMs`) and for the server's goodbye
   * (`closeMs`).
   */
  close(): Promise<void>;
}

/** Backoff between attempts to re-establish the LISTEN connection: doubling, capped. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
/**
 * A LISTEN connection only receives, so a server that vanished without closing the socket (a
 * network partition) would go unnoticed: a round trip every so often proves it is alive.
 */
const HEARTBEAT_MS = 15_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;

/** Deadlines on the LISTEN connection, so a server that stops answering never hangs us. */
export interface DueNotificationTimeouts {
  /**
   * Longest wait to open it (connect, then LISTEN); after that the attempt is abandoned (a
   * connection that opens later is closed at once) and retried. Default 10 s.
   */
  establishMs?: number;
  /** Longest wait for the server to see a closing connection off before its socket is dropped. Default 2 s. */
  closeMs?: number;
}
/** PostgreSQL's identifier limit (NAMEDATALEN - 1); longer channel names are refused. */
const MAX_CHANNEL_BYTES = 63;

/** `herald_due_<schema>`, or a hashed form when the schema name is too long for a channel. */
export function dueChannel(schema: string): string {
  const plain = `herald_due_${schema}`;
  if (Buffer.byteLength(plain) <= MAX_CHANNEL_BYTES) return plain;
  return `herald_due_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

export function createDueNotifications(
  db: PgDatabase,
  timeouts: DueNotificationTimeouts = {},
): DueNotifications {
  const establishMs = timeouts.establishMs ?? 10_000;
  const closeMs = timeouts.closeMs ?? 2_000;
  const channel = dueChannel(db.options.schema);
  const listeners = new Set<(earliestDueAt: number) => void>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let heartbeatTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  let closed = false;
  /** Connections being closed, which `close()` waits for. */
  const closing = new Set<Promise<void>>();

  function tell(earliestDueAt: number): void {
    for (const listener of [...listeners]) {
      try {
        listener(earliestDueAt);
      } catch {
        // A listener's fault must not stop the others, nor the connection.
      }
    }
  }

  function wanted(): boolean {
    return !closed && listeners.size > 0;
  }

  /** Opens the LISTEN connection unless one is open, being opened, or waiting to be retried. */
  function ensureConnected(): void {
    if (!wanted() || client !== null || connecting !== null || retryTimer !== null) return;
    connecting = establish().finally(() => {
      connecting = null;
    });
  }

  /**
   * Opens the LISTEN connection within `establishMs`. Past that (a server that accepts and then
   * never answers) the attempt is given up and retried like a failure; a connection that still
   * opens later is closed as soon as it does.
   */
  async function establish(): Promise<void> {
    const deadline = expireAfter(establishMs);
    let abandoned = false;
    const opening = db.connect();
    opening.then(
      (late) => {
        if (abandoned) void closeClient(late);
      },
      () => {},
    );
    let opened: pg.Client | null = null;
    try {
      opened = await Promise.race([opening, deadline.expired]);
      if (!wanted()) {
        await closeClient(opened);
        return;
      }
      const current = opened;
      current.on('notification', (note) => {
        if (note.channel !== channel) return;
        const dueAt = Number(note.payload);
        tell(Number.isFinite(dueAt) ? dueAt : Number.MIN_SAFE_INTEGER);
      });
      current.on('error', () => lost(current));
      current.on('end', () => lost(current));
      client = current;
      await Promise.race([current.query(`LISTEN ${quoteIdent(channel)}`), deadline.expired]);
      if (client !== current) return; // lost while LISTEN was on its way
      failures = 0;
      startHeartbeat(current);
      tell(Number.MIN_SAFE_INTEGER);
    } catch {
      abandoned = true;
      if (opened !== null && client === opened) {
        lost(opened);
      } else {
        if (opened !== null) void closeClient(opened);
        scheduleRetry();
      }
    } finally {
      deadline.cancel();
    }
  }

  /** The connection failed (server restart, pg_terminate_backend, network): start again. */
  function lost(which: pg.Client): void {
    if (client !== which) return;
    client = null;
    stopHeartbeat();
    void closeClient(which);
    scheduleRetry();
  }

  /**
   * Ends a connection politely, but drops its socket if the server has not seen it off within
   * `closeMs` (a black-holed server never does), so closing never hangs.
   */
  function closeClient(which: pg.Client): Promise<void> {
    const done = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, closeMs);
      });
      await Promise.race([which.end().catch(() => {}), gaveUp]);
      clearTimeout(timer);
      which.connection.stream.destroy();
    })();
    closing.add(done);
    void done.finally(() => closing.delete(done));
    return done;
  }

  function scheduleRetry(): void {
    if (!wanted() || retryTimer !== null) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** failures);
    failures = Math.min(failures + 1, 16);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      ensureConnected();
    }, delay);
    retryTimer.unref();
  }

  function startHeartbeat(which: pg.Client): void {
    stopHeartbeat();
    heartbeatTimer = setInterval(() => {
      let timeout: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS);
      });
      Promise.race([which.query('SELECT 1'), deadline])
        .catch(() => lost(which))
        .finally(() => clearTimeout(timeout));
    }, HEARTBEAT_MS);
    heartbeatTimer.unref();
  }

  function stopHeartbeat(): void {
    if (heartbeatTimer !== null) clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  }

  /**
   * Closes the connection once nobody listens (or on close). Bounded: an attempt to open it
   * ends within `establishMs`, and closing within `closeMs`.
   */
  async function disconnect(): Promise<void> {
    if (retryTimer !== null) clearTimeout(retryTimer);
    retryTimer = null;
    if (connecting !== null) await connecting;
    // Someone subscribed again meanwhile: keep (or re-open) the connection.
    if (wanted()) {
      ensureConnected();
      return;
    }
    stopHeartbeat();
    const open = client;
    client = null;
    if (open !== null) await closeClient(open);
  }

  return {
    schema: db.options.schema,
    channel,
    async notify(queryable, earliestDueAt) {
      await queryable.query('SELECT pg_notify($1, $2)', [channel, String(earliestDueAt)]);
    },
    listen(listener) {
      // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
      const entry = (dueAt: number) => listener(dueAt);
      listeners.add(entry);
      ensureConnected();
      return () => {
        listeners.delete(entry);
        if (listeners.size === 0) void disconnect();
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      await disconnect();
      await Promise.all(closing);
    },
  };
}

/** A promise that rejects after `ms` unless cancelled first. */
function expireAfter(ms: number): { expired: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  // Nobody may be racing it when it fires; that must not count as an unhandled rejection.
  expired.catch(() => {});
  return { expired, cancel: () => clearTimeout(timer) };
}
