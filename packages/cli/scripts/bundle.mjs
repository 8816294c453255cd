// Bundles the compiled CLI (dist/) into bundle/: one file per command, plus the WAL fast path,
// with the workspace packages (core, tui, api) and zod folded in and shared code in chunks.
// Why: Node loads ES modules file by file, and core + zod are ~190 files; a command started in
// ~0.6 s, most of it resolving, reading and compiling modules, before any byte of a backup moved.
// Bundled, a command starts ~0.15 s sooner (docs/ARCHITECTURE.md, "Start-up cost").
// oclif is folded in too, as its own entry (bundle/oclif.js, which bin/run.js starts): loaded from
// node_modules it is ~160 CommonJS files (its own, semver, ejs...) that Node resolves and compiles
// one by one, ~0.15 s; bundled ~0.07 s. Left out of it: TypeScript and ts-node, which oclif
// requires only to run a CLI from .ts sources in development (inlined, TypeScript alone is 8 MB).
// Left outside (imported from node_modules at run time): every other package the CLI lists as a
// dependency — native addons, and the large libraries only some commands load lazily (AWS SDK,
// Kubernetes client, the TUI's React/Ink, the API's Hono). That is why the CLI lists them: its
// package.json is the one list.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const { dependencies } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const bundled = (name) => name.startsWith('@llm-analytics/') || name === '@oclif/core';
const external = [...Object.keys(dependencies).filter((name) => !bundled(name)), 'typescript', 'ts-node'];
const isExternal = (id) => id.startsWith('node:') || external.some((name) => id === name || id.startsWith(`${name}/`));

const input = { walFastPath: `${root}dist/walFastPath.js`, oclif: '@oclif/core' };
for (const dir of ['commands', 'commands/database']) {
  for (const file of readdirSync(`${root}dist/${dir}`).filter((name) => name.endsWith('.js'))) {
    input[`${dir}/${file.slice(0, -3)}`] = `${root}dist/${dir}/${file}`;
  }
}

rmSync(`${root}bundle`, { recursive: true, force: true });
const build = await rolldown({
  input,
  platform: 'node',
  external: isExternal,
  // walFastPath both imports walSpool and loads it lazily: expected, not worth a warning.
  onLog: (level, log, handler) => (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT' ? undefined : handler(level, log)),
});
await build.write({ dir: `${root}bundle`, format: 'esm', chunkFileNames: 'chunks/[name]-[hash].js' });
await build.close();
console.log(`bundle/: ${Object.keys(input).length} entries`);
