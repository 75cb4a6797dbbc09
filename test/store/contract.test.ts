// Runs every storage contract (src/store/contract/*.contract.ts) against the backend under test
// (SQLite, or PostgreSQL in the second pass of `npm test`; see test/helpers/backend.ts).
// A contract module exports functions named `<resource>Contract(makeStore)`; each is called here,
// so a new contract file is picked up without editing this one.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MakeStore } from '../../src/store/contract/support.ts';
import { makeTestStore, testBackend } from '../helpers/backend.ts';

type Contract = (makeStore: MakeStore) => void;

const contractDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/store/contract');
const files = readdirSync(contractDir)
  .filter((f) => f.endsWith('.contract.ts'))
  .sort();
const modules = await Promise.all(
  files.map(async (file) => ({
    file,
    exports: (await import(pathToFileURL(join(contractDir, file)).href)) as Record<string, unknown>,
  })),
);

describe(`storage contract: ${testBackend}`, () => {
  const makeStore = makeTestStore;
  for (const { file, exports } of modules) {
    const contracts = Object.entries(exports).filter(
      (entry): entry is [string, Contract] =>
        entry[0].endsWith('Contract') && typeof entry[1] === 'function',
    );
    if (contracts.length === 0) throw new Error(`${file} exports no *Contract function`);
    for (const [, contract] of contracts) contract(makeStore);
  }
});
