import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, readConfigFile } from './load.ts';
import { type Setting, settings } from './schema.ts';

/** Runs `loadConfig` expecting a ConfigError, and returns its problems. */
function problemsOf(input: Parameters<typeof loadConfig>[0]): readonly string[] {
  try {
    loadConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected loadConfig to reject this configuration');
}

describe('loadConfig: defaults', () => {
  it('gives every setting its schema default when nothing is set', () => {
    const config = loadConfig({});
    const asRecord = config as unknown as Record<string, unknown>;
    for (const setting of settings as readonly Setting[]) {
      assert.deepEqual(asRecord[setting.key], setting.default, setting.key);
    }
    assert.equal(config.port, 8071);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.databaseUrl, 'sqlite:./data/herald.db');
    assert.equal(config.sqliteSynchronous, 'full');
    assert.equal(config.adminToken, undefined);
    assert.equal(config.publicUrl, undefined);
    assert.deepEqual(config.retrySchedule, [5, 300, 1800, 7200, 18000, 36000, 36000]);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ env: { HERALD_RETRY_SCHEDULE: '1,2' } });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.retrySchedule));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('reads only HERALD_* variables and treats empty ones as unset', () => {
    const config = loadConfig({
      env: { PORT: '9999', HERALD_PORT: '', HERALD_HOST: '', HOME: '/root' },
    });
    assert.equal(config.port, 8071);
    assert.equal(config.host, '127.0.0.1');
  });

  it('treats null in the config file as unset', () => {
    assert.equal(loadConfig({ file: { port: null } }).port, 8071);
  });
});

describe('loadConfig: precedence', () => {
  it('takes flags over environment over config file over defaults', () => {
    const file = { port: 1001, host: '10.0.0.1', logLevel: 'warn', retryJitter: 0.1 };
    const env = { HERALD_PORT: '1002', HERALD_HOST: '10.0.0.2', HERALD_LOG_LEVEL: 'debug' };
    const flags = { port: '1003' };
    const config = loadConfig({ file, env, flags });
    assert.equal(config.port, 1003, 'flag wins over env and file');
    assert.equal(config.host, '10.0.0.2', 'env wins over file');
    assert.equal(config.logLevel, 'debug', 'env wins over file');
    assert.equal(config.retryJitter, 0.1, 'file wins over default');
    assert.equal(config.deliveryTimeoutMs, 15000, 'default when set nowhere');
  });

  it('does not validate a lower-precedence value that is overridden', () => {
    const config = loadConfig({ file: { port: 'nonsense' }, env: { HERALD_PORT: '8080' } });
    assert.equal(config.port, 8080);
  });

  it('names the source of a bad value: flag, environment variable or config file key', () => {
    assert.match(problemsOf({ flags: { port: 'x' } })[0] ?? '', /^--port: /);
    assert.match(problemsOf({ env: { HERALD_PORT: 'x' } })[0] ?? '', /^HERALD_PORT: /);
    assert.match(problemsOf({ file: { port: 'x' } })[0] ?? '', /^config file 'port': /);
  });
});

describe('loadConfig: problems', () => {
  it('reports every problem at once in one ConfigError', () => {
    let caught: unknown;
    try {
      loadConfig({
        env: {
          HERALD_PORT: '70000',
          HERALD_SQLITE_SYNCHRONOUS: 'off',
          HERALD_RETRY_JITTER: 'lots',
          HERALD_PUBLIC_URL: 'not a url',
        },
        file: { portt: 1, logLevel: 'loud' },
        flags: { deliveryTimeoutMs: '1.5' },
      });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.equal(caught.name, 'ConfigError');
    assert.equal(caught.problems.length, 7, caught.message);
    for (const name of [
      'HERALD_PORT',
      'HERALD_SQLITE_SYNCHRONOUS',
      'HERALD_RETRY_JITTER',
      'HERALD_PUBLIC_URL',
      "unknown setting 'portt'",
      "config file 'logLevel'",
      '--delivery-timeout-ms',
    ]) {
      assert.ok(
        caught.problems.some((p) => p.includes(name)),
        `no problem mentions ${name}`,
      );
      assert.ok(caught.message.includes(name), `the message does not mention ${name}`);
    }
    assert.match(caught.message, /^Invalid configuration:\n {2}- /);
  });

  it('rejects numbers that are not numbers, not whole, or out of range', () => {
    assert.match(problemsOf({ env: { HERALD_PORT: 'eighty' } })[0] ?? '', /expected a number/);
    assert.match(problemsOf({ env: { HERALD_PORT: '   ' } })[0] ?? '', /expected a number/);
    assert.match(problemsOf({ env: { HERALD_PORT: '80.5' } })[0] ?? '', /whole number/);
    assert.match(problemsOf({ env: { HERALD_PORT: '-1' } })[0] ?? '', /between 0 and 65535/);
    assert.match(
      problemsOf({ env: { HERALD_RETRY_JITTER: '0.6' } })[0] ?? '',
      /between 0 and 0.5, got 0.6/,
    );
    assert.equal(loadConfig({ env: { HERALD_PORT: ' 8080 ' } }).port, 8080);
    assert.equal(loadConfig({ env: { HERALD_RETRY_JITTER: '0.25' } }).retryJitter, 0.25);
  });

  it('rejects values of the wrong JSON type in the config file', () => {
    assert.match(problemsOf({ file: { port: true } })[0] ?? '', /expected a number/);
    assert.match(problemsOf({ file: { host: 5 } })[0] ?? '', /expected a string, got number/);
    assert.match(problemsOf({ file: { publicUrl: 5 } })[0] ?? '', /expected a URL string/);
    assert.match(problemsOf({ file: { logLevel: 3 } })[0] ?? '', /must be one of fatal, error/);
    assert.match(problemsOf({ file: { retrySchedule: 5 } })[0] ?? '', /comma-separated seconds/);
    // Numbers given as JSON numbers or as numeric strings are both fine.
    assert.equal(loadConfig({ file: { port: 9000 } }).port, 9000);
    assert.equal(loadConfig({ file: { port: '9001' } }).port, 9001);
  });

  it('rejects enum values outside the allowed list', () => {
    const [problem] = problemsOf({ env: { HERALD_SIGNATURE_HEADERS: 'x-hub' } });
    assert.equal(problem, "HERALD_SIGNATURE_HEADERS: must be one of svix, webhook, got 'x-hub'");
  });

  it('reports unknown config file keys', () => {
    const problems = problemsOf({ file: { port: 8080, databaseURL: 'sqlite::memory:' } });
    assert.deepEqual(problems, ["config file: unknown setting 'databaseURL'"]);
  });

  it('accepts sqlite: and postgres:// database URLs, and nothing else', () => {
    for (const url of ['sqlite::memory:', 'postgres://localhost/herald', 'postgresql://u@h:5/d']) {
      assert.equal(loadConfig({ env: { HERALD_DATABASE_URL: url } }).databaseUrl, url);
    }
    const [problem] = problemsOf({ env: { HERALD_DATABASE_URL: 'mysql://root:hunter2@db/x' } });
    assert.match(problem ?? '', /^HERALD_DATABASE_URL: .* use sqlite:<path>/);
    assert.doesNotMatch(problem ?? '', /hunter2/, 'the password is not echoed');
  });

  it('refuses roles and several processes on SQLite', () => {
    const problems = problemsOf({
      env: { HERALD_DATABASE_URL: 'sqlite::memory:', HERALD_ROLE: 'api', HERALD_WORKERS: '2' },
    });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^HERALD_ROLE: 'api' needs PostgreSQL/);
    assert.match(problems[1] ?? '', /^HERALD_WORKERS: more than one process needs PostgreSQL/);
    const pg = loadConfig({
      env: { HERALD_DATABASE_URL: 'postgres://h/d', HERALD_ROLE: 'worker', HERALD_WORKERS: '4' },
    });
    assert.equal(pg.role, 'worker');
    assert.equal(pg.workers, 4);
  });

  it('checks the PostgreSQL schema name and the claim lease', () => {
    const problems = problemsOf({
      env: {
        HERALD_POSTGRES_SCHEMA: 'Robert"); DROP',
        HERALD_DELIVERY_TIMEOUT_MS: '5000',
        HERALD_CLAIM_LEASE_MS: '5500',
      },
    });
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^HERALD_POSTGRES_SCHEMA: /);
    assert.match(problems[1] ?? '', /^HERALD_CLAIM_LEASE_MS: 5500 must exceed/);
  });

  it('checks the shape of the operational webhook secret', () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    assert.equal(
      loadConfig({ env: { HERALD_OPERATIONAL_WEBHOOK_SECRET: secret } }).operationalWebhookSecret,
      secret,
    );
    const [problem] = problemsOf({ env: { HERALD_OPERATIONAL_WEBHOOK_SECRET: 'hunter2' } });
    assert.match(problem ?? '', /^HERALD_OPERATIONAL_WEBHOOK_SECRET: must look like whsec_/);
  });

  it('takes exactly one HERALD_MAIN_KEY and a comma list of previous keys', () => {
    const k1 = Buffer.alloc(32, 1).toString('base64');
    const k2 = Buffer.alloc(32, 2).toString('hex');
    const config = loadConfig({
      env: { HERALD_MAIN_KEY: k1, HERALD_MAIN_KEY_PREVIOUS: `${k2}, ,${k1}` },
    });
    assert.equal(config.mainKey, k1);
    const [problem, ...rest] = problemsOf({ env: { HERALD_MAIN_KEY: `${k1},${k2}` } });
    assert.deepEqual(rest, []);
    assert.match(problem ?? '', /^HERALD_MAIN_KEY: must be 32 random bytes.*exactly one key/);
    const [previous] = problemsOf({ env: { HERALD_MAIN_KEY_PREVIOUS: `${k1},nope` } });
    assert.match(previous ?? '', /^HERALD_MAIN_KEY_PREVIOUS: each key must be 32 random bytes/);
  });
});

describe('loadConfig: retry schedule', () => {
  it('parses comma-separated seconds from the environment and flags', () => {
    assert.deepEqual(
      loadConfig({ env: { HERALD_RETRY_SCHEDULE: '5, 60 ,300' } }).retrySchedule,
      [5, 60, 300],
    );
    assert.deepEqual(loadConfig({ flags: { retrySchedule: '0' } }).retrySchedule, [0]);
    assert.deepEqual(loadConfig({ env: { HERALD_RETRY_SCHEDULE: '1.5' } }).retrySchedule, [1.5]);
  });

  it('takes a JSON array in the config file', () => {
    assert.deepEqual(loadConfig({ file: { retrySchedule: [1, 2, 3] } }).retrySchedule, [1, 2, 3]);
  });

  it('rejects non-numbers, negative values and values over a week', () => {
    for (const bad of ['5,soon', '-5', '604801', '5;10', 'NaN']) {
      const [problem] = problemsOf({ env: { HERALD_RETRY_SCHEDULE: bad } });
      assert.match(problem ?? '', /^HERALD_RETRY_SCHEDULE: expected comma-separated seconds/, bad);
    }
    assert.deepEqual(
      loadConfig({ env: { HERALD_RETRY_SCHEDULE: '604800' } }).retrySchedule,
      [604800],
    );
    assert.equal(problemsOf({ file: { retrySchedule: [] } }).length, 1);
    assert.equal(problemsOf({ file: { retrySchedule: [1, 'x'] } }).length, 1);
  });
});

describe('loadConfig: URLs', () => {
  it('accepts http and https URLs and drops trailing slashes', () => {
    const config = loadConfig({
      env: {
        HERALD_PUBLIC_URL: 'https://herald.example.com/',
        HERALD_OPERATIONAL_WEBHOOK_URL: 'http://127.0.0.1:9000/ops//',
      },
    });
    assert.equal(config.publicUrl, 'https://herald.example.com');
    assert.equal(config.operationalWebhookUrl, 'http://127.0.0.1:9000/ops');
  });

  it('rejects other schemes and text that is not a URL', () => {
    for (const bad of ['ftp://example.com', 'example.com', 'not a url', 'javascript:alert(1)']) {
      const [problem] = problemsOf({ env: { HERALD_PUBLIC_URL: bad } });
      assert.equal(problem, `HERALD_PUBLIC_URL: must be an http(s) URL, got '${bad}'`);
    }
    const [problem] = problemsOf({ flags: { operationalWebhookUrl: 'file:///etc/passwd' } });
    assert.match(problem ?? '', /^--operational-webhook-url: must be an http\(s\) URL/);
  });
});

describe('readConfigFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a JSON object whose keys are setting keys', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ port: 8123, retrySchedule: [1, 2] }));
    const file = readConfigFile(path);
    const config = loadConfig({ file });
    assert.equal(config.port, 8123);
    assert.deepEqual(config.retrySchedule, [1, 2]);
  });

  it('turns a missing file, bad JSON or a non-object into a ConfigError naming the file', () => {
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ port: 8080 }');
    const array = join(dir, 'array.json');
    writeFileSync(array, '[1, 2]');
    const missing = join(dir, 'missing.json');
    for (const [path, pattern] of [
      [missing, /ENOENT/],
      [notJson, /not valid JSON/],
      [array, /must hold a JSON object/],
    ] as const) {
      assert.throws(
        () => readConfigFile(path),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.length === 1 &&
          (error.problems[0] ?? '').startsWith(`config file '${path}': `) &&
          pattern.test(error.problems[0] ?? ''),
        path,
      );
    }
  });
});
