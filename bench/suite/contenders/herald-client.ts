// The bench's side of Herald's HTTP API: what a publishing application does, over one undici
// Pool of keep-alive connections.
import { Pool } from 'undici';
import { PROCESS_ADMIN_TOKEN } from '../../../test/helpers/herald-process.ts';
import type { BenchMessage } from '../contender.ts';

export interface HeraldClient {
  /** The application configure() created (to hand over to another client). */
  application(): string | undefined;
  /** A new application with one endpoint per URL; later publishes go to it. */
  configure(destinationUrls: readonly string[]): Promise<void>;
  /** `POST /api/v1/app/{app}/msg`, expecting 202. */
  publish(message: BenchMessage): Promise<void>;
  /** `POST /api/v1/app/{app}/msg/batch?with_content=false` (1..1,000 messages), expecting 202. */
  publishBulk(messages: readonly BenchMessage[]): Promise<void>;
  close(): Promise<void>;
}

const HEADERS = {
  authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
  'content-type': 'application/json',
};

/** The MessageIn of a bench message: the payload's JSON text goes in as it is. */
const messageIn = (message: BenchMessage) =>
  `{"eventType":"bench.event","payload":${message.payload}}`;

/** A client of the Herald at `url`; `appId`: publish to an application configured before. */
export function createHeraldClient(url: string, connections: number, appId?: string): HeraldClient {
  const pool = new Pool(url, { connections, keepAliveTimeout: 60_000 });

  const post = async (path: string, body: string, okStatus: number): Promise<string> => {
    const res = await pool.request({ method: 'POST', path, headers: HEADERS, body });
    if (res.statusCode === okStatus) {
      // The 202 of a publish is not needed: skip decoding it.
      if (okStatus === 202) {
        await res.body.dump();
        return '';
      }
      return res.body.text();
    }
    const text = await res.body.text();
    throw new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  };
  const currentApp = () => {
    if (appId === undefined) throw new Error('publish before configure()');
    return appId;
  };

  return {
    application: () => appId,
    async configure(destinationUrls) {
      const app = JSON.parse(await post('/api/v1/app', '{"name":"bench"}', 201)) as { id: string };
      for (const destination of destinationUrls) {
        const body = JSON.stringify({ url: destination });
        await post(`/api/v1/app/${app.id}/endpoint`, body, 201);
      }
      appId = app.id;
    },
    async publish(message) {
      await post(`/api/v1/app/${currentApp()}/msg`, messageIn(message), 202);
    },
    async publishBulk(messages) {
      const body = `{"messages":[${messages.map(messageIn).join(',')}]}`;
      await post(`/api/v1/app/${currentApp()}/msg/batch?with_content=false`, body, 202);
    },
    close: () => pool.destroy(),
  };
}
