/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof`): self time by function
 * and by module (Herald source file, npm package, or node internals), so a reader sees where
 * Herald's time goes without opening a profiler.
 *
 *   node --import tsx bench/throughput/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [--top 25]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

/** Which part of the system a frame belongs to. */
function moduleOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const own = /\/(src\/.+)$/.exec(url);
  if (own?.[1] !== undefined) return own[1];
  if (url.startsWith('node:')) return url;
  return url;
}

const selfByFunction = new Map<string, number>();
const selfByModule = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i] ?? -1);
  const dt = profile.timeDeltas[i] ?? 0;
  if (node === undefined) continue;
  total += dt;
  const { functionName, url, lineNumber } = node.callFrame;
  const mod = moduleOf(url, functionName);
  const fn = `${functionName || '(anonymous)'} ${mod}:${lineNumber + 1}`;
  selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + dt);
  selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + dt);
}

const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, us] of rows) {
    process.stdout.write(
      `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`,
    );
  }
};
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
print('Self time by module:', selfByModule);
print('Self time by function:', selfByFunction);
