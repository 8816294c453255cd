import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of this CLI's bin/run.js, for commands that hand PostgreSQL (or a detached
 * helper) a command line that runs this CLI again. This module runs from dist/ (tests) or from
 * bundle/chunks/ (the installed CLI, see scripts/bundle.mjs): run.js is one or two levels up.
 */
export function cliEntryScript(): string {
  for (const relative of ['../bin/run.js', '../../bin/run.js']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`bin/run.js not found above ${fileURLToPath(import.meta.url)}: is the CLI built?`);
}
