import { render } from 'ink';
import { BackupError } from '@llm-analytics/core';
import { App } from './App.js';
import type { TuiDeps } from './deps.js';
import { noColorRequested } from './theme.js';

export interface LaunchOptions {
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l\x1b[?25h';

/**
 * Runs the TUI until the user quits. Refuses without a terminal (a pipe, cron, CI): scripts use
 * the CLI commands. The terminal is always given back, whatever happens inside.
 */
export async function runTui(deps: TuiDeps, options: LaunchOptions = {}): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) {
    throw new BackupError(
      'INVALID_ARGUMENT',
      'llm-analytics tui needs an interactive terminal (stdin and stdout must be a TTY).',
      'From scripts use the CLI: llm-analytics database list-backups | backup | restore (each with --json).',
    );
  }
  let restored = false;
  const giveBackTerminal = () => {
    if (restored) return;
    restored = true;
    stdout.write(LEAVE_ALTERNATE_SCREEN);
  };
  stdout.write(ENTER_ALTERNATE_SCREEN);
  process.once('exit', giveBackTerminal);
  try {
    const instance = render(<App deps={deps} noColor={noColorRequested(options.env ?? process.env)} />, { stdin, stdout, exitOnCtrlC: false });
    await instance.waitUntilExit();
  } finally {
    giveBackTerminal();
    process.off('exit', giveBackTerminal);
  }
}
