import { Pool } from 'undici';
import { PROCESS_ADMIN_TOKEN } from '../helpers/herald-process.ts';

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked by the tests that read them
  body: any;
}

/** A keep-alive client for one running Herald, authenticated with the test admin token. */
export class HeraldClient {
  readonly pool: Pool;

  constructor(baseUrl: string, connections = 8) {
    this.pool = new Pool(baseUrl, { connections, pipelining: 1 });
  }

  /** One JSON request; network errors are thrown. */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse> {
    const res = await this.pool.request({
      method,
      path,
      headers: {
        authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: keep the text for the failure message.
      }
    }
    return { status: res.statusCode, body: parsed };
  }

  /** Publishes one message; the 202 body carries its `id`. */
  publish(appId: string, payload: Record<string, unknown>): Promise<ApiResponse> {
    return this.call('POST', `/api/v1/app/${appId}/msg`, { eventType: 'test.event', payload });
  }

  /** Creates an application with one endpoint pointing at `endpointUrl`. */
  async createAppWithEndpoint(endpointUrl: string): Promise<{ appId: string; endpointId: string }> {
    const app = await this.call('POST', '/api/v1/app', { name: 'process test' });
    expectStatus(app, 201, 'create application');
    const endpoint = await this.call('POST', `/api/v1/app/${app.body.id}/endpoint`, {
      url: endpointUrl,
    });
    expectStatus(endpoint, 201, 'create endpoint');
    return { appId: app.body.id, endpointId: endpoint.body.id };
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

export function expectStatus(res: ApiResponse, status: number, what: string): void {
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  }
}
