import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderConfigReference } from '../../src/config/docs.ts';
import { type Setting, settings } from '../../src/config/schema.ts';

const committedPath = new URL('../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('equals the reference generated from src/config/schema.ts', () => {
    const committed = readFileSync(committedPath, 'utf8');
    assert.ok(
      committed === renderConfigReference(),
      'docs/configuration.md is out of date with src/config/schema.ts: run `npm run docs:config` and commit the result.',
    );
  });

  it('documents every setting with its environment variable and flag', () => {
    const reference = renderConfigReference();
    for (const setting of settings as readonly Setting[]) {
      assert.ok(reference.includes(`### ${setting.key}\n`), `no section for ${setting.key}`);
      assert.ok(reference.includes(`\`${setting.env}\``), `${setting.env} is not mentioned`);
      assert.ok(reference.includes(`\`${setting.flag} <value>\``), `${setting.flag} is missing`);
    }
  });

  it('gives every setting a unique key, environment variable and flag, named by convention', () => {
    const all = settings as readonly Setting[];
    for (const field of ['key', 'env', 'flag'] as const) {
      const values = all.map((s) => s[field]);
      assert.equal(new Set(values).size, values.length, `duplicate ${field}`);
    }
    for (const s of all) {
      assert.match(s.env, /^HERALD_[A-Z0-9_]+$/, `${s.key}: env name`);
      const kebab = s.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      assert.equal(s.flag, `--${kebab}`, `${s.key}: flag should be --${kebab}`);
      const snake = kebab.replace(/-/g, '_').toUpperCase();
      assert.equal(s.env, `HERALD_${snake}`, `${s.key}: env should be HERALD_${snake}`);
      assert.ok(s.doc.trim().length > 0, `${s.key}: no description`);
    }
  });
});
