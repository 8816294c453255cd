import type { V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BackupError } from '../../errors.js';
import { formatCommandLine, stderrTail } from '../commandLine.js';
import type { ExecOptions, ExecResult, ExecStream, Host } from '../host.js';
import { OutputBuffer } from '../outputBuffer.js';
import { ExecChannel, type ExecProtocol } from './execChannel.js';
import { KubeApi, loadKubeConfig, type KubeAccessOptions } from './kubeApi.js';
import { NOT_FOUND_MARKER, PID_LINE, environmentHeader, killArgv, podArgv, type InputMode } from './podCommand.js';

export const DEFAULT_NAMESPACE = 'llm-analytics-hub';
export const DEFAULT_POD = 'timescaledb-0';

export interface KubernetesHostOptions extends KubeAccessOptions {
  /** Default llm-analytics-hub. */
  namespace?: string;
  /** Pod name; default timescaledb-0 unless a label selector is given. */
  pod?: string;
  /** Find the pod by labels instead (the first running one by name), e.g. app=timescaledb. */
  labelSelector?: string;
  /** Container of the pod; default: the API server's choice (the only or the default container). */
  container?: string;
  /** Directory of the PostgreSQL programs in the container; default: the bare names (its PATH). */
  pgBinDir?: string;
  /** Most stdout or stderr bytes exec() collects. Default 16 MiB. */
  maxOutputBytes?: number;
  /** TLS + websocket handshake limit per command. Default 30 s. */
  connectTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when a command is stopped. Default 5 s. */
  killGraceMs?: number;
  /** Exec subprotocols to offer (tests offer v4 only to check the fallback). */
  protocols?: readonly string[];
}

const STDERR_TAIL_BYTES = 64 * 1024;
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** A command running in the pod, as the methods below share it. */
interface RemoteRun {
  stdout: Readable;
  /** Where stdin goes after the environment header (stream mode only). */
  stdin: Promise<Writable | undefined>;
  /** Exit code; rejects with HOST_COMMAND_FAILED (could not run, connection lost) or CANCELLED. */
  exitCode: Promise<number>;
  terminate(): void;
}

/**
 * Runs commands in a pod through the Kubernetes exec API: the same engines as on the local host,
 * with the pod as the place PostgreSQL lives. Before the first command it reads the pod, asks the
 * API server whether we may exec (SelfSubjectAccessReview) and learns the exec protocol.
 */
export class KubernetesHost implements Host {
  readonly namespace: string;
  private podName: string | undefined;
  /** The exec protocol the API server chose, once known. */
  protocol: ExecProtocol | undefined;
  private preflight: Promise<{ api: KubeApi; protocol: ExecProtocol }> | undefined;
  /** The pod as read before the first command. */
  pod: V1Pod | undefined;

  constructor(readonly options: KubernetesHostOptions = {}) {
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.podName = options.labelSelector ? options.pod : (options.pod ?? DEFAULT_POD);
  }

  /** The pod's name (known once ready() has found it when a label selector was given). */
  get name(): string | undefined {
    return this.podName;
  }

  get description(): string {
    const pod = this.podName ?? `(labels ${this.options.labelSelector})`;
    return `pod ${this.namespace}/${pod}${this.options.container ? ` container ${this.options.container}` : ''}`;
  }

  pgTool(name: string): string {
    return this.options.pgBinDir ? join(this.options.pgBinDir, name) : name;
  }

  /** Checks the pod and our permissions; every command waits for this once. */
  ready(): Promise<{ api: KubeApi; protocol: ExecProtocol }> {
    this.preflight ??= this.check();
    return this.preflight;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const limit = this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputBuffer(limit, 'cap');
    const stderr = new OutputBuffer(limit, 'cap');
    const input = options.stdin ? await readAll(options.stdin) : undefined;
    const run = this.start(argv, options, input ?? 0, (chunk) => stderr.push(chunk));
    run.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      if (stdout.overflowed || stderr.overflowed) run.terminate();
    });
    const exitCode = await run.exitCode;
    if (stdout.overflowed || stderr.overflowed) {
      throw new BackupError('HOST_COMMAND_FAILED', `${formatCommandLine(argv)} printed more than ${limit} bytes on ${stdout.overflowed ? 'stdout' : 'stderr'} in ${this.description}; it was stopped.`, 'Large outputs must be streamed (execStream), not collected.');
    }
    return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
  }

  execStream(argv: readonly string[], options: ExecOptions = {}): ExecStream {
    const stderr = new OutputBuffer(STDERR_TAIL_BYTES, 'tail');
    const run = this.start(argv, options, options.stdin ? '-' : 0, (chunk) => stderr.push(chunk));
    if (options.stdin) void run.stdin.then((sink) => sink && options.stdin!.pipe(sink), () => {});
    // As in LocalHost: the consumer's stream ends only once the exit code says 0.
    const stdout = new PassThrough({ highWaterMark: 64 * 1024 });
    stdout.on('error', () => {});
    run.stdout.pipe(stdout, { end: false });
    run.stdout.on('error', () => {});
    stdout.on('close', () => {
      if (!stdout.readableEnded) {
        run.stdout.unpipe(stdout);
        run.stdout.resume();
        run.terminate();
      }
    });
    const done = run.exitCode.then(
      async (exitCode) => {
        if (exitCode === 0) stdout.end();
        else stdout.destroy(this.commandFailed(argv, exitCode, stderr.text()));
        await finished(stdout).catch(() => {});
        return { exitCode, stderr: stderr.text() };
      },
      (error: unknown) => {
        stdout.destroy(error as Error);
        throw error;
      },
    );
    done.catch(() => {});
    return { stdout, done, kill: () => run.terminate() };
  }

  execSink(argv: readonly string[], options: ExecOptions = {}): { stdin: Writable; done: Promise<ExecResult> } {
    const limit = this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputBuffer(limit, 'cap');
    const stderr = new OutputBuffer(STDERR_TAIL_BYTES, 'tail');
    const run = this.start(argv, options, '-', (chunk) => stderr.push(chunk));
    run.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      if (stdout.overflowed) run.terminate();
    });
    run.stdout.on('error', () => {});
    // The writer gets a PassThrough, as in LocalHost: if the command fails, the writer sees why.
    const stdin = new PassThrough({ highWaterMark: 64 * 1024 });
    stdin.on('error', () => {});
    // A writer that gave up must not leave the command waiting for bytes that will not come: v5
    // ends the command's stdin (it reads EOF and decides); v4 cannot, so the command is stopped.
    let gaveUp = false;
    let remoteStdin: Writable | undefined;
    const endRemoteStdin = () => {
      if (!remoteStdin) return;
      if (this.protocol === 'v5.channel.k8s.io') remoteStdin.end();
      else run.terminate();
    };
    stdin.on('close', () => {
      if (stdin.writableFinished) return;
      gaveUp = true;
      endRemoteStdin();
    });
    run.stdin.then(
      (sink) => {
        if (!sink) return;
        remoteStdin = sink;
        sink.on('error', () => stdin.unpipe(sink));
        if (gaveUp) endRemoteStdin();
        else stdin.pipe(sink);
      },
      () => {},
    );
    const done = run.exitCode.then(
      (exitCode) => {
        const result = { exitCode, stdout: stdout.text(), stderr: stderr.text() };
        if (exitCode !== 0 && !stdin.writableFinished) stdin.destroy(this.commandFailed(argv, exitCode, result.stderr));
        else if (!stdin.writableFinished) {
          stdin.unpipe();
          stdin.resume();
        }
        if (stdout.overflowed) throw new BackupError('HOST_COMMAND_FAILED', `${formatCommandLine(argv)} printed more than ${limit} bytes on stdout.`);
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

  private async check(): Promise<{ api: KubeApi; protocol: ExecProtocol }> {
    const api = new KubeApi(loadKubeConfig(this.options));
    const pod = this.options.labelSelector && !this.podName
      ? await api.findPod(this.namespace, this.options.labelSelector)
      : await api.readPod(this.namespace, this.podName!);
    this.podName = pod.metadata?.name ?? this.podName;
    this.pod = pod;
    const phase = pod.status?.phase;
    if (phase !== 'Running') {
      throw new BackupError('HOST_COMMAND_FAILED', `Pod ${this.namespace}/${this.podName} is ${phase ?? 'in an unknown phase'}, not Running.`, `Wait for it (kubectl get pod -n ${this.namespace} ${this.podName} -w) and retry.`);
    }
    const containers = pod.spec?.containers?.map((c) => c.name) ?? [];
    if (this.options.container && !containers.includes(this.options.container)) {
      throw new BackupError('INVALID_ARGUMENT', `Pod ${this.namespace}/${this.podName} has no container "${this.options.container}".`, `Its containers: ${containers.join(', ')}.`);
    }
    await api.requirePermission(this.namespace, 'create', 'pods', 'exec');
    this.wsOptions = await api.websocketOptions();
    // One trivial command learns the exec protocol the server speaks (v5 can end stdin, v4 cannot).
    const probe = this.channel(api, ['true'], false);
    probe.stdout.resume();
    await probe.ready();
    const protocol = probe.protocol!;
    this.protocol = protocol;
    const outcome = await probe.outcome;
    if ('failure' in outcome) throw new BackupError('HOST_COMMAND_FAILED', `Cannot run commands in ${this.description}: ${outcome.failure}`);
    return { api, protocol };
  }

  private channel(api: KubeApi, argv: readonly string[], stdin: boolean): ExecChannel {
    return new ExecChannel({
      url: api.execUrl(this.namespace, this.podName!, this.options.container, argv, stdin),
      wsOptions: this.wsOptions!,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 30_000,
      target: this.description,
      protocols: this.options.protocols,
    });
  }

  private wsOptions: import('ws').ClientOptions | undefined;

  /**
   * Starts a command under the pod prologue (podCommand.ts). `input` is the command's stdin: 0 for
   * none, the bytes of a small input, or '-' for a stream the caller writes to `RemoteRun.stdin`.
   */
  private start(argv: readonly string[], options: ExecOptions, input: InputMode | Buffer, onStderr: (chunk: Buffer) => void): RemoteRun {
    const stdout = new PassThrough({ highWaterMark: 256 * 1024 });
    let pid: number | undefined;
    let channel: ExecChannel | undefined;
    let killRequested = false;
    let killing: Promise<void> | undefined;
    let resolveStdin!: (sink: Writable | undefined) => void;
    const stdinReady = new Promise<Writable | undefined>((resolve) => (resolveStdin = resolve));

    const kill = (): void => {
      killRequested = true;
      if (pid === undefined || killing) return;
      const target = pid;
      killing = this.ready().then(async ({ api }) => {
        const killer = this.channel(api, killArgv(target, this.options.killGraceMs ?? 5000), false);
        killer.stdout.resume();
        await killer.outcome.catch(() => {});
      }).catch(() => {});
      // If even the kill cannot get through, do not hang: give up the session.
      const grace = setTimeout(() => channel?.terminate(), (this.options.killGraceMs ?? 5000) + 5000);
      void killing.then(() => grace.unref());
    };

    const exitCode = (async (): Promise<number> => {
      if (options.signal?.aborted) throw cancelled(argv);
      const { api, protocol } = await this.ready();
      if (options.signal?.aborted) throw cancelled(argv);
      const header = environmentHeader(options.env);
      let mode: InputMode;
      if (Buffer.isBuffer(input)) mode = protocol === 'v5.channel.k8s.io' ? '-' : input.length;
      else mode = input;
      const withStdin = header.lines > 0 || mode !== 0;
      channel = this.channel(api, podArgv(argv, header.lines, options.cwd, mode), withStdin);
      const onAbort = () => kill();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let stderrHead = Buffer.alloc(0);
      let stderrStart = '';
      const forward = (chunk: Buffer) => {
        if (stderrStart.length < 4096) stderrStart += chunk.toString('utf8');
        onStderr(chunk);
      };
      channel.onStderr((chunk) => {
        if (pid !== undefined) return forward(chunk);
        stderrHead = Buffer.concat([stderrHead, chunk]);
        const match = PID_LINE.exec(stderrHead.toString('latin1'));
        if (match) {
          pid = Number(match[1]);
          const rest = stderrHead.subarray(match[0].length);
          if (rest.length) forward(rest);
          if (killRequested) kill();
        }
      });
      channel.stdout.pipe(stdout);
      channel.stdout.on('error', (error) => stdout.destroy(error));
      try {
        await channel.ready();
        if (withStdin) {
          const sink = channel.stdinWriter();
          sink.on('error', () => {});
          if (header.bytes.length) sink.write(header.bytes);
          if (Buffer.isBuffer(input)) sink.end(input);
          else if (mode === '-') resolveStdin(sink);
          else sink.end();
        }
        resolveStdin(undefined);
        const outcome = await channel.outcome;
        // Exit status only once the reader has everything: a caller ends its own stream on it.
        if (!stdout.readableEnded && !stdout.destroyed) await new Promise((resolve) => stdout.once('end', resolve).once('close', resolve));
        await killing;
        if (options.signal?.aborted) throw cancelled(argv);
        if ('failure' in outcome) throw new BackupError('HOST_COMMAND_FAILED', `${formatCommandLine(argv)} could not be run in ${this.description}: ${outcome.failure}`);
        if (outcome.exitCode === 127 && stderrStart.startsWith(`${NOT_FOUND_MARKER}${argv[0]}: not found`)) {
          throw new BackupError('HOST_COMMAND_FAILED', `"${argv[0]}" was not found in ${this.description}.`, 'Use an image that has it on PATH, or pass --pg-bin-dir with the directory of the PostgreSQL programs in the container (PG_BIN_DIR).');
        }
        return outcome.exitCode;
      } catch (error) {
        if (options.signal?.aborted) throw cancelled(argv);
        throw error;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        resolveStdin(undefined);
      }
    })();
    exitCode.catch(() => resolveStdin(undefined));
    return { stdout, stdin: stdinReady, exitCode, terminate: kill };
  }

  private commandFailed(argv: readonly string[], exitCode: number, stderr: string): BackupError {
    const tail = stderrTail(stderr);
    return new BackupError('HOST_COMMAND_FAILED', `${formatCommandLine(argv)} failed with exit code ${exitCode} in ${this.description}${tail ? `: ${tail}` : '.'}`);
  }
}

function cancelled(argv: readonly string[]): BackupError {
  return new BackupError('CANCELLED', `${formatCommandLine(argv)} was cancelled.`);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
