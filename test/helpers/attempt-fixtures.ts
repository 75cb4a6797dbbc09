import { after, before } from 'node:test';
import { hashToken } from '../../src/core/tokens.ts';
import {
  type AttemptScenario,
  type AttemptWorld,
  attemptWorld,
  FIXTURE_EPOCH,
  seedAttemptScenario,
} from '../../src/store/contract/attempt-fixtures.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestApi, type TestApi } from './api.ts';
import { makeTestStore } from './backend.ts';

export {
  type AttemptScenario,
  type AttemptWorld,
  FIXTURE_EPOCH,
} from '../../src/store/contract/attempt-fixtures.ts';

/**
 * An API whose clock is the fixture world's, so ids and times made by the API (a resend's
 * delivery) and by the fixtures agree. Rows are made through the store (`world`), as the
 * dispatcher and message creation would make them.
 */
export async function createAttemptsApi(): Promise<{ api: TestApi; world: AttemptWorld }> {
  const store = await makeTestStore();
  const world = attemptWorld(store);
  const api = await createTestApi({ store, clock: world.now });
  return { api, world };
}

/** The API plus the standard scenario of `seedAttemptScenario`. */
export async function createSeededAttemptsApi(): Promise<{
  api: TestApi;
  world: AttemptWorld;
  s: AttemptScenario;
}> {
  const { api, world } = await createAttemptsApi();
  return { api, world, s: await seedAttemptScenario(world) };
}

/**
 * The set-up an attempts API suite shares. Call it inside `describe`: before the first test it
 * opens an API with `open` (`createAttemptsApi` or `createSeededAttemptsApi`) and hands it to
 * `ready`, which keeps what the tests use and may finish the suite's own set-up; after the last
 * test it closes the API.
 */
export function openForSuite<T extends { api: TestApi }>(
  open: () => Promise<T>,
  ready: (opened: T) => void | Promise<void>,
): void {
  let api: TestApi | undefined;
  before(async () => {
    const opened = await open();
    api = opened.api;
    await ready(opened);
  });
  after(async () => {
    await api?.close();
  });
}

/** The ISO 8601 text of the fixture time `offsetMs` after FIXTURE_EPOCH, as the API writes it. */
export const iso = (offsetMs: number) => new Date(FIXTURE_EPOCH + offsetMs).toISOString();

/** The ids of a list response's items, in order. */
export const ids = (body: { data: { id: string }[] }) => body.data.map((item) => item.id);

/** A bearer token scoped to one application. */
export async function appScopedToken(
  store: Store,
  appId: string,
  name = 'appsk_test',
): Promise<string> {
  const token = `${name}_${appId}`;
  await store.insertToken({
    id: `tok_${appId}_${name}`,
    kind: 'app',
    hash: hashToken(token),
    appId,
    createdAt: Date.now(),
    expiresAt: null,
  });
  return token;
}
