import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real terminal for end-to-end tests: a tmux server on its own socket (so it never touches
 * anyone else's sessions), one window of a fixed size, keys sent with send-keys and the screen
 * read with capture-pane. `kill()` ends that server and everything it runs.
 */
export class TmuxTerminal {
  private constructor(
    private readonly socket: string,
    readonly columns: number,
    readonly rows: number,
  ) {}

  static async start(command: readonly string[], options: { env: Record<string, string>; columns?: number; rows?: number }): Promise<TmuxTerminal> {
    const terminal = new TmuxTerminal(join(tmpdir(), `llm-tui-e2e-${process.pid}-${Date.now()}.sock`), options.columns ?? 80, options.rows ?? 24);
    const envArgs = Object.entries(options.env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    await terminal.tmux('new-session', '-d', '-s', 'tui', '-x', String(terminal.columns), '-y', String(terminal.rows), ...envArgs, ...command);
    return terminal;
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args]);
    return stdout;
  }

  /** Named keys as tmux spells them: Enter, Escape, Down, C-c, C-u. */
  async press(...keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.tmux('send-keys', '-t', 'tui', key);
      await pause(150);
    }
  }

  /** Text typed literally, character by character as a person would. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'tui', '-l', text);
    await pause(150);
  }

  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', 'tui');
  }

  async waitFor(text: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen().catch(() => '');
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > until) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen}`);
      await pause(200);
    }
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', 'tui', '-x', String(columns), '-y', String(rows));
    await pause(300);
  }

  async running(): Promise<boolean> {
    return this.tmux('has-session', '-t', 'tui').then(
      () => true,
      () => false,
    );
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
    await rm(this.socket, { force: true });
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
