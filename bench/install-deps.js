// Installs the suite's own dependencies (bench/package.json: the job queues it compares Herald
// with) before `npm run bench`, when bench/node_modules is missing or older than the lockfile.
// Plain JavaScript so that it runs before anything else is there.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = dirname(fileURLToPath(import.meta.url));
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};
// npm writes node_modules/.package-lock.json on every install: the time of the last one.
const installed = mtime(join(bench, 'node_modules', '.package-lock.json'));
const locked = mtime(join(bench, 'package-lock.json'));
if (installed === undefined || (locked !== undefined && installed < locked)) {
  process.stdout.write('Installing the bench dependencies (bench/package.json)...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], {
    cwd: bench,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) {
    process.stderr.write('npm ci in bench/ failed; the suite needs those packages.\n');
    process.exit(result.status ?? 1);
  }
}
