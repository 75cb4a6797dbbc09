import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, createHerald, HeraldError } from '../../src/index.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { call, createAppWithEndpoint, LIBRARY_ADMIN_TOKEN } from './support.ts';

describe('createHerald', () => {
  it('runs the API and the dispatcher in this process on SQLite, and publishes with its own store', async (t) => {
    const receiver = await startReceiver();
    const herald = await createHerald({
      databaseUrl: 'sqlite::memory:',
      adminToken: LIBRARY_ADMIN_TOKEN,
      logLevel: 'silent',
      // The receiver listens on loopback, which Herald refuses by default.
      allowNetworks: ['127.0.0.0/8'],
    });
    t.after(async () => {
      await herald.close();
      await receiver.close();
    });
    assert.equal(herald.role, 'all');
    assert.equal(herald.store.backend, 'sqlite');
    await herald.start();
    const { appId } = await createAppWithEndpoint(herald, 'acme', receiver.endpoint('/hook'));

    const message = await herald.publish({ appId, eventType: 'user.created', payload: { id: 7 } });
    const [delivered] = await receiver.waitForRequests(1, { path: '/hook' });
    assert.equal(delivered?.headers['svix-id'], message.id);
    assert.equal(delivered?.body, '{"id":7}');

    // The same message is visible through the API it serves.
    const got = await call(herald, 'GET', `/api/v1/app/acme/msg/${message.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.payload, { id: 7 });

    // A caller's connection only means something on PostgreSQL.
    const fakeClient = { query: async () => ({ rows: [] }) } as never;
    await assert.rejects(
      herald.publish(fakeClient, { appId, eventType: 'user.created', payload: {} }),
      (error: unknown) => error instanceof HeraldError && error.code === 'generic_error',
    );
  });

  it('listens on request, and answers over HTTP', async (t) => {
    const herald = await createHerald({
      databaseUrl: 'sqlite::memory:',
      adminToken: LIBRARY_ADMIN_TOKEN,
      logLevel: 'silent',
    });
    t.after(() => herald.close());
    assert.ok(herald.api);
    const url = await herald.api.listen({ port: 0 });
    const res = await fetch(`${url}/api/v1/app`, {
      headers: { authorization: `Bearer ${LIBRARY_ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it('validates its options like herald serve, naming the options', async () => {
    await assert.rejects(
      createHerald({
        databaseUrl: 'sqlite::memory:',
        role: 'worker',
        port: -1,
        colour: 'red',
      } as never),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.message;
        assert.match(text, /unknown option 'colour'/);
        assert.match(text, /createHerald option 'port': must be between 0 and 65535/);
        assert.match(text, /HERALD_ROLE: 'worker' needs PostgreSQL/);
        return true;
      },
    );
  });

  it('fails clearly, without the password, when PostgreSQL cannot be reached', async () => {
    await assert.rejects(
      createHerald({
        databaseUrl: 'postgres://herald:s3cret@127.0.0.1:1/herald',
        logLevel: 'silent',
        postgresStatementTimeoutMs: 2000,
      }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /could not open the PostgreSQL database/);
        assert.match(error.message, /127\.0\.0\.1:1/);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
  });
});
