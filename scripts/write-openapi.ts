// Writes docs/openapi.json from the routes' schemas (`npm run openapi`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from './openapi-document.ts';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, await renderOpenApiDocument());
console.log(`wrote ${target}`);
