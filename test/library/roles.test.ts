import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type pg from 'pg';
import type { Herald } from '../../src/index.ts';
import { describePostgres, uniqueSchema } from '../helpers/backend.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import {
  connectApplication,
  createAppWithEndpoint,
  createPostgresHerald,
  dropSchema,
} from './support.ts';

describePostgres(
  'library mode: an api-role Herald publishes, a worker-role Herald delivers',
  () => {
    const schema = uniqueSchema('librole');
    let api: Herald;
    let worker: Herald;
    let receiver: TestReceiver;
    let client: pg.Client;

    before(async () => {
      receiver = await startReceiver();
      // Opened together: both migrate the empty schema at once, under the advisory lock.
      [api, worker] = await Promise.all([
        createPostgresHerald({ postgresSchema: schema, role: 'api' }),
        createPostgresHerald({ postgresSchema: schema, role: 'worker' }),
      ]);
      await api.start(); // no dispatcher in this role: a no-op
      await worker.start();
      client = await connectApplication();
    });

    after(async () => {
      await client?.end();
      await api?.close();
      await worker?.close();
      await receiver?.close();
      await dropSchema(schema);
    });

    it('has only the parts of its role', () => {
      assert.ok(api.api, 'the api role serves the API');
      assert.equal(worker.api, undefined, 'the worker role has no API');
    });

    it('delivers what the api-role Herald published in the caller’s transaction', async () => {
      const { appId } = await createAppWithEndpoint(api, 'split', receiver.endpoint('/split'));
      await client.query('BEGIN');
      const message = await api.publish(client, {
        appId,
        eventType: 'invoice.sent',
        payload: { invoice: 'INV-1' },
      });
      await client.query('COMMIT');
      const [delivered] = await receiver.waitForRequests(1, { path: '/split' });
      assert.equal(delivered?.headers['svix-id'], message.id);
      // The worker recorded the attempt; the api-role Herald sees it through the shared database.
      const attempts = await api.api?.inject({
        method: 'GET',
        url: `/api/v1/app/${appId}/attempt/msg/${message.id}`,
        headers: { authorization: 'Bearer sk_library_test_admin_token' },
      });
      assert.equal(attempts?.statusCode, 200);
    });
  },
);
