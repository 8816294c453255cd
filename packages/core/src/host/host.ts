import type { ReadTarget } from '../pipeline/frameWriter.js';
import type { FrameExtractor, FrameExtractorOptions } from './frameExtractor.js';
import type { TarExtractor } from './tarExtractor.js';
import type { Readable, Writable } from 'node:stream';

export interface ExecOptions {
  /** Bytes fed to the command's stdin; closed at the end. Without it stdin is empty. */
  stdin?: Readable;
  /**
   * Extra environment for the command, on top of the host's own. The only place for secrets
   * (PGPASSWORD, keys): argv appears in error messages and in `ps`, the environment never does.
   */
  env?: Record<string, string>;
  cwd?: string;
  /** Aborting stops the command (SIGTERM, then SIGKILL) and rejects with CANCELLED. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running command whose stdout is consumed as a stream (pg_basebackup's tar, say). */
export interface ExecStream {
  /**
   * The command's stdout, with backpressure (a slow reader pauses the command). It ends only
   * after the command exited 0; a non-zero exit destroys it with HOST_COMMAND_FAILED, so a
   * pipeline reading it never mistakes a truncated stream for a complete one.
   */
  stdout: Readable;
  /**
   * Resolves when the command has ended and stdout has been fully read, with the exit code and
   * the last 64 KiB of stderr. Rejects only when the command could not start (HOST_COMMAND_FAILED)
   * or was cancelled (CANCELLED).
   */
  done: Promise<{ exitCode: number; stderr: string }>;
  kill(): void;
}

/** A running command whose stdout goes into a ReadTarget (Host.execInto). */
export interface ExecInto {
  /**
   * Resolves once the command has exited and its stdout has been read to the end, with the exit
   * code (the caller decides) and the last 64 KiB of stderr. Rejects with what the target threw
   * (the command is then stopped), HOST_COMMAND_FAILED when it could not start, or CANCELLED.
   */
  done: Promise<{ exitCode: number; stderr: string }>;
  kill(): void;
}

/**
 * Where PostgreSQL lives. The backup, restore and verify engines are written once against this
 * interface: a LocalHost runs commands on this machine, a KubernetesHost runs them in a pod. A
 * host runs commands as the operating-system user that owns the database files (as root on a
 * local machine: the `postgres` user).
 *
 * Commands are argv arrays, never shell text. argv is shown in error messages: secrets go in
 * `ExecOptions.env` only. `exec` and `execSink` resolve with any exit code (the caller decides;
 * `execChecked` makes non-zero an error); every method rejects with HOST_COMMAND_FAILED when the
 * program cannot be started and CANCELLED when the signal aborts it.
 */
export interface Host {
  /** Human description for output: "local host (as user postgres)", "pod llm-analytics-hub/timescaledb-0". */
  readonly description: string;
  /**
   * Path of a PostgreSQL program (psql, pg_basebackup, pg_ctl...) on this host, when the host
   * knows where they are installed; without this method, the bare name is run (found on PATH).
   */
  pgTool?(name: string): string;
  /** Runs a command to its end, collecting stdout and stderr as text. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs a command whose stdout is a large stream, with backpressure. */
  execStream(argv: readonly string[], options?: ExecOptions): ExecStream;
  /**
   * Like execStream, when the host can (a local one): stdout is read straight into the memory
   * `target` hands out, with no stream in between (pg_basebackup's tar into frame buffers).
   */
  execInto?(argv: readonly string[], target: ReadTarget, options?: ExecOptions): Promise<ExecInto>;
  /**
   * Runs a command that consumes a large stream on stdin (tar -x, say). Ending `stdin` ends its
   * input; if the command fails before reading everything, `stdin` is destroyed with its failure.
   */
  execSink(argv: readonly string[], options?: ExecOptions): { stdin: Writable; done: Promise<ExecResult> };
  /**
   * Extracts a tar stream into a directory of this host in-process, when the host can (a local
   * one); otherwise callers run `tar -x` through execSink.
   */
  tarExtractor?(targetDir: string): TarExtractor;
  /**
   * Extracts a backup whose frame index records where each frame starts in the tar, frames in
   * parallel (see frameExtractor.ts), when the host can (a local one).
   */
  frameExtractor?(targetDir: string, options: Omit<FrameExtractorOptions, 'owner'>): FrameExtractor;
  /** Boots the frame extractor's threads ahead of a restore (they wait, idle, until needed). */
  prestartFrameExtractor?(): void;
}
