// Writes docs/configuration.md from the settings schema (`npm run docs:config`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigReference } from '../src/config/docs.ts';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigReference());
console.log(`wrote ${target}`);
