import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../src/App.js';
import { runTui } from '../src/launch.js';
import { noColorRequested } from '../src/theme.js';
import { fakeDeps, frameWith, makeCatalog } from './fixtures.js';

/** The chalk instance Ink colours with (a dependency of ink, not of ours): tests have no TTY, so it starts at level 0. */
async function inksChalk(): Promise<{ level: number }> {
  const inkEntry = fileURLToPath(import.meta.resolve('ink'));
  const chalkDir = join(realpathSync(inkEntry), '../../../chalk');
  const main = JSON.parse(readFileSync(join(chalkDir, 'package.json'), 'utf8')).exports?.['.']?.default ?? 'source/index.js';
  return (await import(pathToFileURL(join(chalkDir, main)).href)).default;
}

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const COLOUR = /\x1b\[(3[0-9]|9[0-7])m/;

describe('terminal handling', () => {
  it('refuses to run without a terminal and points to the CLI commands', async () => {
    const { deps } = fakeDeps([]);
    const notATerminal = new PassThrough() as unknown as NodeJS.ReadStream & NodeJS.WriteStream;
    await expect(runTui(deps, { stdin: notATerminal, stdout: notATerminal })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('needs an interactive terminal'),
      hint: expect.stringContaining('llm-analytics database list-backups'),
    });
  });

  it('treats NO_COLOR as set only when it is not empty', () => {
    expect(noColorRequested({ NO_COLOR: '1' })).toBe(true);
    expect(noColorRequested({ NO_COLOR: '' })).toBe(false);
    expect(noColorRequested({})).toBe(false);
  });

  it('draws colours normally and none with NO_COLOR, keeping the selection visible in reverse video', async () => {
    const chalk = await inksChalk();
    const level = chalk.level;
    chalk.level = 1;
    try {
      const { deps } = fakeDeps(makeCatalog(3));
      const coloured = render(<App deps={deps} size={{ columns: 80, rows: 24 }} />);
      const colouredFrame = await frameWith(coloured.lastFrame, '3 backups');
      coloured.unmount();
      const plain = render(<App deps={deps} size={{ columns: 80, rows: 24 }} noColor />);
      cleanup = plain.unmount;
      const plainFrame = await frameWith(plain.lastFrame, '3 backups');
      expect(colouredFrame).toMatch(COLOUR);
      expect(plainFrame).not.toMatch(COLOUR);
      expect(plainFrame).toContain('\x1b[7m');
    } finally {
      chalk.level = level;
    }
  });
});
