import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { ReadTarget } from '../pipeline/frameWriter.js';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import { formatCommandLine, stderrTail } from './commandLine.js';
import type { ExecInto, ExecOptions, ExecResult, ExecStream, Host } from './host.js';
import { startLocalProcess, type LocalProcess } from './localProcess.js';
import { currentOsUser, lookupOsUser, runsAsRoot, type OsUser } from './osUser.js';
import { createFrameExtractor, prestartFrameExtractor, type FrameExtractor, type FrameExtractorOptions } from './frameExtractor.js';
import { createTarExtractor, type FileOwner, type TarExtractor } from './tarExtractor.js';
import { OutputBuffer } from './outputBuffer.js';
import { pgTool } from './pgBinaries.js';
import { connectedSocketPair } from './socketPair.js';

export interface LocalHostOptions {
  /**
   * The operating-system user commands run as. Default: `postgres` when this process runs as root
   * (PostgreSQL refuses to run as root, and its files belong to that user), else the current user.
   * Another user than the current one needs root.
   */
  osUser?: string;
  /** Directory of the PostgreSQL programs (PG_BIN_DIR); default: see pgTool(). */
  pgBinDir?: string;
  /** Most stdout or stderr bytes exec() collects; more is an error. Default 16 MiB. */
  maxOutputBytes?: number;
  /** How long a cancelled command gets between SIGTERM and SIGKILL. Default 5 s. */
  killGraceMs?: number;
}

const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const STDERR_TAIL_BYTES = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 5000;
/** exec collects output as fast as it comes: 2 s after exit, what is left belongs to a grandchild. */
const STDIO_GRACE_MS = 2000;

/** Runs commands on this machine with child_process.spawn: argv only, never a shell. */
export class LocalHost implements Host {
  readonly description: string;
  /** Name of the operating-system user commands run as. */
  readonly osUser: string;
  private identity: { user: OsUser; switchUser: boolean } | undefined;

  constructor(private readonly options: LocalHostOptions = {}) {
    this.osUser = options.osUser ?? (runsAsRoot() ? 'postgres' : currentOsUser().name);
    this.description = `local host (as user ${this.osUser})`;
  }

  pgTool(name: string): string {
    return pgTool(name, { binDir: this.options.pgBinDir });
  }

  /** Files end up as `tar -x` run as the host's user would leave them: owned by that user. */
  tarExtractor(targetDir: string): TarExtractor {
    return createTarExtractor(targetDir, this.fileOwner());
  }

  frameExtractor(targetDir: string, options: Omit<FrameExtractorOptions, 'owner'>): FrameExtractor {
    return createFrameExtractor(targetDir, { ...options, owner: this.fileOwner() });
  }

  prestartFrameExtractor(): void {
    prestartFrameExtractor();
  }

  /** Who extracted files must belong to, when this process runs as root for another account. */
  private fileOwner(): FileOwner | undefined {
    const { user, switchUser } = this.resolveIdentity();
    return switchUser ? { uid: user.uid, gid: user.gid } : undefined;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const limit = this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputBuffer(limit, 'cap');
    const stderr = new OutputBuffer(limit, 'cap');
    const run = this.start(argv, options, [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], STDIO_GRACE_MS);
    const collect = (buffer: OutputBuffer) => (chunk: Buffer) => {
      buffer.push(chunk);
      if (buffer.overflowed) run.terminate();
    };
    run.child?.stdout?.on('data', collect(stdout));
    run.child?.stderr?.on('data', collect(stderr));
    let inputError: unknown;
    if (options.stdin && run.child?.stdin) {
      feedStdin(options.stdin, run.child.stdin, (error) => {
        inputError = error;
        run.terminate();
      });
    }
    const exitCode = await run.closed;
    if (inputError !== undefined) throw inputError;
    if (stdout.overflowed || stderr.overflowed) {
      throw new BackupError(
        'HOST_COMMAND_FAILED',
        `${formatCommandLine(argv)} printed more than ${limit} bytes on ${stdout.overflowed ? 'stdout' : 'stderr'}; it was stopped.`,
        'Large outputs must be streamed (execStream), not collected.',
      );
    }
    return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
  }

  execStream(argv: readonly string[], options: ExecOptions = {}): ExecStream {
    const stderr = new OutputBuffer(STDERR_TAIL_BYTES, 'tail');
    const run = this.start(argv, options, [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']);
    // stdout is handed out through a PassThrough so that its end can wait for the exit code: a
    // command that dies half-way must fail the consumer's pipeline, not end it as if complete.
    const stdout = new PassThrough({ highWaterMark: 64 * 1024 });
    // Failures reach the reader through its pipeline and through `done`; without this listener a
    // caller that only awaits `done` would crash the process with an unhandled 'error' event.
    stdout.on('error', () => {});
    const child = run.child;
    child?.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child?.stdout?.pipe(stdout, { end: false });
    child?.stdout?.on('error', (error) => stdout.destroy(error));
    stdout.on('close', () => {
      // The consumer gave up early: nobody will read the rest, so the command must not block.
      if (!stdout.readableEnded) {
        child?.stdout?.unpipe(stdout);
        child?.stdout?.resume();
        run.terminate();
      }
    });
    if (options.stdin && child?.stdin) {
      feedStdin(options.stdin, child.stdin, (error) => {
        stdout.destroy(error instanceof Error ? error : new Error(String(error)));
        run.terminate();
      });
    }
    const done = run.closed.then(
      async (exitCode) => {
        if (exitCode === 0) stdout.end();
        else stdout.destroy(commandFailed(argv, exitCode, stderr.text()));
        await finished(stdout).catch(() => {});
        return { exitCode, stderr: stderr.text() };
      },
      (error: unknown) => {
        stdout.destroy(error as Error);
        throw error;
      },
    );
    // A consumer whose pipeline failed may never await done; that must not crash the process.
    done.catch(() => {});
    return { stdout, done, kill: () => run.terminate() };
  }

  /**
   * stdout is a Unix socket this process reads with net's onread, straight into `target`'s memory
   * (a pipe cannot be read that way), and a command that writes through C stdio gets a 1 MiB
   * stdout buffer (stdbuf, see withLargeStdoutBuffer). For pg_basebackup's 780 MB tar that turned
   * 48,000 writes of 4 and 28 KiB into 750 of 1 MiB and removed a copy, a 64 KiB buffer per read and
   * two stream stages from the main thread: 15 % less CPU for the whole backup.
   */
  async execInto(argv: readonly string[], target: ReadTarget, options: ExecOptions = {}): Promise<ExecInto> {
    let failure: unknown;
    let run: LocalProcess | undefined;
    // Where a read goes once the target failed: the command is being stopped, its bytes dropped.
    const discard = Buffer.alloc(64 * 1024);
    const fail = (error: unknown) => {
      failure ??= error;
      reading.destroy();
      run?.terminate();
    };
    const { reading, writing } = await connectedSocketPair({
      buffer: () => {
        if (failure === undefined) {
          try {
            return target.space();
          } catch (error) {
            fail(error);
          }
        }
        return discard;
      },
      callback: (bytes) => {
        if (failure !== undefined) return false;
        try {
          if (target.filled(bytes)) return true;
        } catch (error) {
          fail(error);
          return false;
        }
        target.ready().then(() => failure === undefined && reading.resume(), fail);
        return false;
      },
    });
    reading.on('error', fail);
    const stderr = new OutputBuffer(STDERR_TAIL_BYTES, 'tail');
    run = this.start(withLargeStdoutBuffer(argv), options, [options.stdin ? 'pipe' : 'ignore', writing, 'pipe']);
    // The command has its own copy of the socket now; ours would keep the stream from ending.
    writing.destroy();
    const child = run.child;
    child?.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (options.stdin && child?.stdin) feedStdin(options.stdin, child.stdin, fail);
    const exited = run.closed.catch((error: unknown) => {
      reading.destroy();
      throw error;
    });
    // A read error has already failed the run (fail): 'close' follows it.
    const readToEnd = new Promise((resolve) => reading.once('close', resolve));
    const done = Promise.all([exited, readToEnd]).then(([exitCode]) => {
      if (failure !== undefined) throw failure;
      return { exitCode, stderr: stderr.text() };
    });
    done.catch(() => {});
    return { done, kill: () => run.terminate() };
  }

  execSink(argv: readonly string[], options: ExecOptions = {}): { stdin: Writable; done: Promise<ExecResult> } {
    const limit = this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputBuffer(limit, 'cap');
    const stderr = new OutputBuffer(STDERR_TAIL_BYTES, 'tail');
    const run = this.start(argv, options, ['pipe', 'pipe', 'pipe']);
    const child = run.child;
    child?.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      if (stdout.overflowed) run.terminate();
    });
    child?.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    // The writer gets a PassThrough, not the pipe itself: if the command dies, the writer sees the
    // command's failure (exit code, stderr) instead of a bare EPIPE.
    const stdin = new PassThrough({ highWaterMark: 64 * 1024 });
    stdin.on('error', () => {}); // as for execStream: the failure is reported through `done` as well
    if (child?.stdin) {
      const pipeIn = child.stdin;
      stdin.pipe(pipeIn);
      // The command closed its stdin (EPIPE): hold the writer until its exit code says whether
      // that was a failure (destroy the writer) or a normal end (discard the rest).
      pipeIn.on('error', () => stdin.unpipe(pipeIn));
      // The writer gave up (destroyed mid-stream): close the command's stdin so it sees EOF and
      // exits, instead of waiting forever for bytes that will not come.
      stdin.on('close', () => {
        if (!stdin.writableFinished) pipeIn.destroy();
      });
    }
    const done = run.closed.then(
      (exitCode) => {
        const result = { exitCode, stdout: stdout.text(), stderr: stderr.text() };
        if (exitCode !== 0 && !stdin.writableFinished) {
          stdin.destroy(commandFailed(argv, exitCode, result.stderr));
        } else if (!stdin.writableFinished) {
          // Exit 0 is the command's verdict (tar may stop at its end-of-archive blocks and leave
          // padding unread): let the writer finish into the void.
          stdin.unpipe();
          stdin.resume();
        }
        if (stdout.overflowed) {
          throw new BackupError('HOST_COMMAND_FAILED', `${formatCommandLine(argv)} printed more than ${limit} bytes on stdout.`);
        }
        return result;
      },
      (error: unknown) => {
        stdin.destroy(error as Error);
        throw error;
      },
    );
    done.catch(() => {});
    return { stdin, done };
  }

  private start(argv: readonly string[], options: ExecOptions, stdio: ('pipe' | 'ignore' | Socket)[], stdioGraceMs?: number): LocalProcess {
    let identity: { user: OsUser; switchUser: boolean };
    try {
      identity = this.resolveIdentity();
    } catch (error) {
      const closed = Promise.reject(error);
      closed.catch(() => {});
      return { child: undefined, closed, terminate: () => {} };
    }
    const { user, switchUser } = identity;
    const userEnv = switchUser ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {};
    return startLocalProcess({
      argv,
      env: { ...process.env, ...userEnv, ...options.env },
      // Another user usually cannot enter this process's working directory (root's, say).
      cwd: options.cwd ?? (switchUser ? homeOrRoot(user) : undefined),
      uid: switchUser ? user.uid : undefined,
      gid: switchUser ? user.gid : undefined,
      stdio,
      signal: options.signal,
      killGraceMs: this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      stdioGraceMs,
      runAs: `user ${user.name}`,
    });
  }

  private resolveIdentity(): { user: OsUser; switchUser: boolean } {
    if (this.identity) return this.identity;
    const current = currentOsUser();
    if (this.osUser === current.name) {
      this.identity = { user: current, switchUser: false };
      return this.identity;
    }
    const user = lookupOsUser(this.osUser);
    if (user.uid === current.uid) {
      this.identity = { user, switchUser: false };
    } else if (!runsAsRoot()) {
      throw new BackupError(
        'HOST_COMMAND_FAILED',
        `Cannot run commands as user ${this.osUser}: this process runs as ${current.name}, and only root can switch users.`,
        `Run as ${this.osUser} (e.g. sudo -u ${this.osUser} ...) or as root.`,
      );
    } else {
      this.identity = { user, switchUser: true };
    }
    return this.identity;
  }
}

/**
 * argv run under coreutils' `stdbuf -o 1M` when this machine has stdbuf and the program exists (a
 * missing program must still get start-up's own "not found" error). C stdio sizes a pipe's or a
 * socket's buffer from its 4 KiB block size; the program's output is unchanged, only its writes grow.
 */
export function withLargeStdoutBuffer(argv: readonly string[]): readonly string[] {
  const stdbuf = programOnPath('stdbuf');
  const program = argv[0] ?? '';
  const exists = program.includes('/') ? existsSync(program) : programOnPath(program) !== undefined;
  return stdbuf && exists ? [stdbuf, '-o', '1M', ...argv] : argv;
}

function programOnPath(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(':')) {
    const candidate = join(directory, name);
    if (directory && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function homeOrRoot(user: OsUser): string {
  return existsSync(user.home) ? user.home : '/';
}

function commandFailed(argv: readonly string[], exitCode: number, stderr: string): BackupError {
  const tail = stderrTail(stderr);
  return new BackupError(
    'HOST_COMMAND_FAILED',
    `${formatCommandLine(argv)} failed with exit code ${exitCode}${tail ? `: ${tail}` : '.'}`,
  );
}

/**
 * Feeds a caller's stream to a command's stdin. A command that exits without reading all of it
 * breaks the pipe: that is not an input error (its exit code says how it went).
 */
function feedStdin(source: Readable, sink: Writable, onInputError: (error: unknown) => void): void {
  pipeline(source, sink).catch((error: NodeJS.ErrnoException) => {
    const commandClosedPipe = error.code === 'EPIPE' || error.code === 'ECONNRESET' || (sink.destroyed && !source.errored);
    if (!commandClosedPipe) onInputError(error);
  });
}
