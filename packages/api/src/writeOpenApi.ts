/** Writes the committed copy of the OpenAPI document: docs/openapi.json at the repository root. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openApiDocument } from './openapi.js';

const target = resolve(import.meta.dirname, '../../../docs/openapi.json');
writeFileSync(target, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
