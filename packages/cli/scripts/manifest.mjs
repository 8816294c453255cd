// Writes oclif.manifest.json after the build. Without it oclif imports every command module (and
// with them the TUI's React, the API's Hono...) on each start just to list their flags; with it
// a command starts by importing only itself.
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = `${root}oclif.manifest.json`;
rmSync(file, { force: true }); // an old manifest would be read instead of the commands
const config = await Config.load(root);
const manifest = config.plugins.get(config.pjson.name)?.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) throw new Error('oclif found no commands: is the CLI built?');
writeFileSync(file, `${JSON.stringify(manifest)}\n`);
console.log(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`);
