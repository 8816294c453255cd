import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { BackupError } from '../errors.js';
import { formatCommandLine } from './commandLine.js';

/** One command started on this machine, with its end as a promise. */
export interface LocalProcess {
  /** Absent when the command could not be started at all (closed then rejects). */
  readonly child: ChildProcess | undefined;
  /**
   * Resolves with the exit code once the process has exited and its output pipes are closed
   * (a signal death becomes 128 + signal number, as a shell reports it). Rejects with
   * HOST_COMMAND_FAILED when it could not be started, CANCELLED when the signal aborted it.
   */
  readonly closed: Promise<number>;
  /** SIGTERM now, SIGKILL if it is still running after the grace period. */
  terminate(): void;
}

export interface StartOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  stdio: StdioOptions;
  signal?: AbortSignal;
  killGraceMs: number;
  /**
   * How long after the process exits its pipes may stay open. A grandchild that inherited them
   * (a daemon started without redirection, a `sleep` left by a killed shell) would otherwise
   * hold 'close' back for as long as it lives. Set for collected output (exec); streams get it
   * only once terminated, because a slow reader may legitimately still drain a dead process's pipe.
   */
  stdioGraceMs?: number;
  /** Who runs it, for messages ("user postgres"). */
  runAs: string;
}

const DEFAULT_STDIO_GRACE_MS = 2000;

export function startLocalProcess(options: StartOptions): LocalProcess {
  const { argv, signal } = options;
  if (argv.length === 0) {
    return failed(new BackupError('INTERNAL', 'No command given to run.'));
  }
  if (signal?.aborted) return failed(cancelled(argv));

  let child: ChildProcess;
  try {
    // Never a shell: argv goes to execve as is, so no argument is ever interpreted.
    child = spawn(argv[0]!, argv.slice(1), {
      env: options.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
      stdio: options.stdio,
      shell: false,
      windowsHide: true,
    });
  } catch (error) {
    return failed(startFailure(error, options));
  }

  let aborted = false;
  let terminated = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stdioTimer: NodeJS.Timeout | undefined;
  const closePipesSoon = (): void => {
    stdioTimer ??= setTimeout(() => {
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
    }, options.stdioGraceMs ?? DEFAULT_STDIO_GRACE_MS);
  };
  child.once('exit', () => {
    if (terminated || options.stdioGraceMs !== undefined) closePipesSoon();
  });
  const terminate = (): void => {
    terminated = true;
    if (child.exitCode !== null || child.signalCode !== null) {
      closePipesSoon();
      return;
    }
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), options.killGraceMs);
  };
  const onAbort = (): void => {
    aborted = true;
    terminate();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const closed = new Promise<number>((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(stdioTimer);
      signal?.removeEventListener('abort', onAbort);
      action();
    };
    child.once('error', (error) => {
      // After a successful start, 'error' only reports a failed kill(): not the command's fate.
      if (child.pid === undefined) settle(() => reject(startFailure(error, options)));
    });
    child.once('close', (code, signalName) => {
      settle(() => {
        if (aborted) reject(cancelled(argv));
        else resolve(code ?? 128 + (signalName ? constants.signals[signalName] : 0));
      });
    });
  });
  return { child, closed, terminate };
}

function failed(error: BackupError): LocalProcess {
  const closed = Promise.reject(error);
  closed.catch(() => {});
  return { child: undefined, closed, terminate: () => {} };
}

function cancelled(argv: readonly string[]): BackupError {
  return new BackupError('CANCELLED', `Cancelled: ${formatCommandLine(argv)}`);
}

function startFailure(error: unknown, options: StartOptions): BackupError {
  const code = (error as NodeJS.ErrnoException).code;
  const command = options.argv[0] ?? '';
  const line = formatCommandLine(options.argv);
  if (code === 'ENOENT' && options.cwd && !existsSync(options.cwd)) {
    return new BackupError(
      'HOST_COMMAND_FAILED',
      `Could not run ${line}: the working directory ${options.cwd} does not exist.`,
      'Create the directory or run the command elsewhere.',
      { cause: error },
    );
  }
  if (code === 'ENOENT') {
    return new BackupError(
      'HOST_COMMAND_FAILED',
      `Could not run ${line}: the program "${command}" was not found on this machine.`,
      command.includes('/')
        ? `Check that ${command} exists; for PostgreSQL programs, check the configured PostgreSQL bin directory (PG_BIN_DIR).`
        : `Install "${command}" or put its directory on PATH; PostgreSQL programs are also found through the PostgreSQL bin directory option (PG_BIN_DIR) and /usr/lib/postgresql/<version>/bin.`,
      { cause: error },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new BackupError(
      'HOST_COMMAND_FAILED',
      `Could not run ${line} as ${options.runAs}: permission denied.`,
      `Check that ${options.runAs} may execute "${command}" and enter the working directory; switching users needs root.`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BackupError('HOST_COMMAND_FAILED', `Could not run ${line}: ${message}`, undefined, { cause: error });
}
