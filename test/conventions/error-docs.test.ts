import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorCodes } from '../../src/errors.ts';

const docsPath = new URL('../../docs/errors.md', import.meta.url);

interface DocumentedCodes {
  /** Codes with a `### \`code\`` heading. */
  headings: Set<string>;
  /** Codes in the first cell of a table row, with the status in the second cell. */
  rows: Map<string, string>;
  /** Codes in `"code": "..."` of the JSON examples. */
  examples: Set<string>;
}

/** Reads docs/errors.md at run time, so codes other people add to the registry are checked too. */
function readDocumentedCodes(): DocumentedCodes {
  const text = readFileSync(docsPath, 'utf8');
  const headings = new Set<string>();
  const rows = new Map<string, string>();
  const examples = new Set<string>();
  for (const line of text.split('\n')) {
    const heading = /^#{2,6}\s+`([^`]+)`/.exec(line);
    if (heading?.[1] !== undefined) headings.add(heading[1]);
    const row = /^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (row?.[1] !== undefined) rows.set(row[1], row[2] ?? '');
  }
  for (const match of text.matchAll(/"code"\s*:\s*"([^"]+)"/g)) {
    if (match[1] !== undefined) examples.add(match[1]);
  }
  return { headings, rows, examples };
}

const registry = errorCodes as Record<string, { status: number; description: string }>;
const registered = Object.keys(registry);

describe('docs/errors.md', () => {
  const docs = readDocumentedCodes();

  it('has a section and a table row for every code in src/errors.ts', () => {
    const noHeading = registered.filter((code) => !docs.headings.has(code));
    const noRow = registered.filter((code) => !docs.rows.has(code));
    assert.deepEqual(
      { noHeading, noRow },
      { noHeading: [], noRow: [] },
      'docs/errors.md must document every error code of src/errors.ts: add a "### `code`" section and a row to the Codes table for each code listed.',
    );
  });

  it('gives each code the HTTP status the registry gives it', () => {
    const wrong = registered
      .filter(
        (code) => docs.rows.has(code) && docs.rows.get(code) !== String(registry[code]?.status),
      )
      .map(
        (code) =>
          `${code}: docs say ${docs.rows.get(code)}, registry says ${registry[code]?.status}`,
      );
    assert.deepEqual(wrong, [], 'update the status column of docs/errors.md');
  });

  it('mentions no code that the registry does not have', () => {
    const known = new Set(registered);
    const mentioned = [...docs.headings, ...docs.rows.keys(), ...docs.examples];
    const unknown = [...new Set(mentioned.filter((code) => !known.has(code)))];
    assert.deepEqual(
      unknown,
      [],
      'docs/errors.md documents codes that src/errors.ts does not define: remove them or add them to the registry.',
    );
  });

  it('finds the codes it checks (the page is parsed as expected)', () => {
    assert.ok(docs.headings.size > 0 && docs.rows.size > 0 && docs.examples.size > 0);
  });
});
