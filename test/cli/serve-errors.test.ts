import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { heraldEnv } from '../helpers/herald-process.ts';

const HERALD_BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

/** Runs `herald serve <args>` to its exit (it must exit by itself: these configurations fail). */
function serve(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HERALD_BIN, 'serve', ...args], {
      env: heraldEnv('sqlite::memory:', env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('herald serve refuses what cannot work, before starting anything', () => {
  it('--role api on SQLite', async () => {
    const run = await serve(['--role', 'api'], {});
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /HERALD_ROLE: 'api' needs PostgreSQL/);
    assert.doesNotMatch(run.stdout, /Herald is/);
  });

  it('--workers 2 on SQLite (no process is forked)', async () => {
    const run = await serve(['--workers', '2', '--log-level', 'info'], {});
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /HERALD_WORKERS: more than one process needs PostgreSQL/);
    assert.equal(run.stdout, '', 'nothing started, nothing logged');
  });

  it('an unknown role and an out-of-range worker count, reported together', async () => {
    const run = await serve([], { HERALD_ROLE: 'everything', HERALD_WORKERS: '0' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /HERALD_ROLE: must be one of all, api, worker, got 'everything'/);
    assert.match(run.stderr, /HERALD_WORKERS: must be between 1 and 64, got 0/);
  });

  for (const workers of ['1', '2']) {
    it(`an unreachable PostgreSQL, named without its password (--workers ${workers})`, async () => {
      const run = await serve(['--workers', workers], {
        HERALD_DATABASE_URL: 'postgres://herald:s3cret@127.0.0.1:1/herald',
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /Herald could not start: could not open the PostgreSQL database postgres:\/\/herald:\*\*\*@127\.0\.0\.1:1\/herald \(schema [^)]+\): connect ECONNREFUSED/,
      );
      assert.doesNotMatch(run.stderr + run.stdout, /s3cret/);
    });
  }
});
