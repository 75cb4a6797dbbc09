import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeadlineGroups, settleWithin } from './deadline-groups.ts';

describe('deadline groups', () => {
  it('puts attempts of one window in one group, and opens a new one after it', () => {
    const groups = createDeadlineGroups(1000, 100);
    const a = groups.join(0);
    const b = groups.join(50);
    const c = groups.join(100);
    assert.equal(a, b);
    assert.notEqual(a, c);
    for (const g of [a, b, c]) groups.leave(g, 120);
    groups.abortAll();
  });

  it('aborts every attempt of a group at its deadline, marked as timed out', async () => {
    const groups = createDeadlineGroups(50, 10);
    const started = performance.now();
    const group = groups.join(started);
    const aborted = new Promise<number>((resolve) =>
      group.controller.signal.addEventListener('abort', () => resolve(performance.now())),
    );
    // The group's timer is unref'd (sockets keep a real sender alive): a guard keeps this
    // test's event loop running, and fails it if the abort never comes.
    let guard: NodeJS.Timeout | undefined;
    const at = await Promise.race([
      aborted,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('the group was never aborted')), 5000);
      }),
    ]);
    clearTimeout(guard);
    assert.equal(group.timedOut, true);
    assert.ok(at - started >= 49, `aborted after ${at - started} ms`);
  });

  it('settles a request undici has not settled at the deadline and on abortAll', async () => {
    const never = new Promise<string>(() => {});
    const groups = createDeadlineGroups(50, 10);
    const started = performance.now();
    const timed = groups.join(started);
    let guard: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      settleWithin(never, timed),
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('the group never expired')), 5000);
      }),
    ]);
    clearTimeout(guard);
    assert.equal(settled, undefined);
    assert.ok(performance.now() - started >= 49);
    assert.equal(timed.timedOut, true);

    const stopped = createDeadlineGroups(60_000, 100);
    const running = stopped.join(0);
    const waiting = settleWithin(never, running);
    stopped.abortAll();
    assert.equal(await waiting, undefined);
    assert.equal(running.timedOut, false);
    // A request that settles first gives its own value, and leaves no listener behind.
    const fresh = stopped.join(0);
    assert.equal(await settleWithin(Promise.resolve('answered'), fresh), 'answered');
    stopped.abortAll();
  });

  it('drops a finished group with its timer, and abortAll aborts what is in flight', () => {
    const groups = createDeadlineGroups(60_000, 100);
    const done = groups.join(0);
    groups.leave(done, 200);
    const running = groups.join(300);
    groups.abortAll();
    assert.equal(running.controller.signal.aborted, true);
    assert.equal(running.timedOut, false);
    assert.equal(done.controller.signal.aborted, false);
  });
});
