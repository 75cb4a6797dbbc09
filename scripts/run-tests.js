#!/usr/bin/env node
// Runs the test suite with node's built-in test runner (Node 20's `--test` does not expand
// globs, so the file list is built here), in two passes:
//   1. every *.test.ts under src/ and test/, with storage on SQLite;
//   2. the tests that touch storage (STORAGE_DIRS) again, on PostgreSQL
//      (HERALD_TEST_BACKEND=postgres; see test/helpers/backend.ts).
// Without a reachable PostgreSQL the second pass is skipped with a loud warning, or fails when
// HERALD_REQUIRE_POSTGRES=1 (CI sets it). HERALD_TEST_BACKENDS=sqlite (or postgres) runs one pass.
// Arguments filter files by substring: `npm test -- test/api`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

// The tests' own probe (TypeScript, loaded through tsx), so both ask the same server the same way.
const { POSTGRES_TEST_URL: POSTGRES_URL, probePostgres } = await tsImport(
  '../test/helpers/postgres-probe.ts',
  import.meta.url,
);
const STORAGE_DIRS = ['test/api/', 'test/delivery/', 'test/store/', 'test/e2e/'];

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

function run(files, backend) {
  const concurrency = process.env.HERALD_TEST_CONCURRENCY ?? '3';
  console.log(`\n=== tests on ${backend}: ${files.length} files ===\n`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
    { stdio: 'inherit', env: { ...process.env, HERALD_TEST_BACKEND: backend } },
  );
  return result.status ?? 1;
}

const filter = process.argv.slice(2);
const files = ['src', 'test']
  .flatMap((dir) => findTests(dir))
  .map((file) => file.split('\\').join('/'))
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const passes = (process.env.HERALD_TEST_BACKENDS ?? 'sqlite,postgres').split(',');
const required = process.env.HERALD_REQUIRE_POSTGRES === '1';
let status = 0;

if (passes.includes('sqlite')) status = run(files, 'sqlite') || status;

const storageFiles = files.filter((file) => STORAGE_DIRS.some((dir) => file.startsWith(dir)));
if (passes.includes('postgres') && storageFiles.length > 0) {
  const problem = await probePostgres(3000);
  if (problem === null) {
    status = run(storageFiles, 'postgres') || status;
  } else if (required) {
    console.error(
      `\nrun-tests: PostgreSQL at ${POSTGRES_URL} is required (HERALD_REQUIRE_POSTGRES=1) but unreachable: ${problem}`,
    );
    status = 1;
  } else {
    console.warn(
      `\n${'*'.repeat(78)}\n*** SKIPPED: ${storageFiles.length} test files were NOT run on PostgreSQL:\n` +
        `*** ${POSTGRES_URL} is unreachable (${problem}).\n` +
        `*** Start PostgreSQL or set HERALD_TEST_POSTGRES_URL to run them.\n${'*'.repeat(78)}\n`,
    );
  }
}
process.exit(status);
