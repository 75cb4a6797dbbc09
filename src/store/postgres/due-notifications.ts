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
  /** Drops every subscriber and closes the LISTEN connection. */
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
/** PostgreSQL's identifier limit (NAMEDATALEN - 1); longer channel names are refused. */
const MAX_CHANNEL_BYTES = 63;

/** `herald_due_<schema>`, or a hashed form when the schema name is too long for a channel. */
export function dueChannel(schema: string): string {
  const plain = `herald_due_${schema}`;
  if (Buffer.byteLength(plain) <= MAX_CHANNEL_BYTES) return plain;
  return `herald_due_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

export function createDueNotifications(db: PgDatabase): DueNotifications {
  const channel = dueChannel(db.options.schema);
  const listeners = new Set<(earliestDueAt: number) => void>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let heartbeatTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  let closed = false;

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

  async function establish(): Promise<void> {
    let opened: pg.Client | null = null;
    try {
      opened = await db.connect();
      if (!wanted()) {
        await opened.end().catch(() => {});
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
      await current.query(`LISTEN ${quoteIdent(channel)}`);
      if (client !== current) return; // lost while LISTEN was on its way
      failures = 0;
      startHeartbeat(current);
      tell(Number.MIN_SAFE_INTEGER);
    } catch {
      if (opened !== null && client === opened) lost(opened);
      else scheduleRetry();
    }
  }

  /** The connection failed (server restart, pg_terminate_backend, network): start again. */
  function lost(which: pg.Client): void {
    if (client !== which) return;
    client = null;
    stopHeartbeat();
    which.end().catch(() => {});
    scheduleRetry();
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

  /** Closes the connection once nobody listens (or on close). */
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
    if (open !== null) await open.end().catch(() => {});
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
    },
  };
}
