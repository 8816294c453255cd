import { Readable, Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { BackupError } from '../../errors.js';
import { apiStatusError, type KubeStatus } from './status.js';

/**
 * The pod exec protocol of the Kubernetes API (`/api/v1/namespaces/NS/pods/POD/exec`), spoken
 * over `ws` because client-node's own Exec has no backpressure and no way to end stdin on older
 * protocols. Every binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
 * 3 error (a `Status` JSON when the command ended), 4 resize. `v5.channel.k8s.io` (API servers
 * 1.30+) adds a close message `[255, channel]`: `[255, 0]` ends the command's stdin. On
 * `v4.channel.k8s.io` stdin cannot be ended short of closing the whole connection (which also
 * loses stdout and the exit status), so the caller must make its commands finish without EOF.
 */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type ExecProtocol = (typeof EXEC_PROTOCOLS)[number];

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface ExecChannelOptions {
  /** wss:// URL of the exec endpoint, query included. */
  url: string;
  /** TLS and auth from the kubeconfig (ca, cert, key, agent, headers). */
  wsOptions: WebSocket.ClientOptions;
  /** How long the TLS and websocket handshake may take. */
  connectTimeoutMs: number;
  /** Names the pod in error messages. */
  target: string;
  /** Offered protocols, most preferred first (tests offer only v4). */
  protocols?: readonly string[];
}

/** How the command ended, as the error channel said. */
export type ExecOutcome = { exitCode: number } | { failure: string };

/**
 * One exec session. `stdout` pauses the socket while its reader is slow (a fast pod cannot fill
 * memory); `outcome` resolves after the connection closed and stdout was read to its end.
 */
export class ExecChannel {
  readonly stdout: Readable;
  readonly outcome: Promise<ExecOutcome>;
  protocol: ExecProtocol | undefined;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;
  private statusText = '';
  private stderrListener: (chunk: Buffer) => void = () => {};

  constructor(private readonly options: ExecChannelOptions) {
    this.stdout = new Readable({
      highWaterMark: 256 * 1024,
      read: () => {
        if (this.ws.isPaused) this.ws.resume();
      },
    });
    this.ws = new WebSocket(options.url, [...(options.protocols ?? EXEC_PROTOCOLS)], {
      ...options.wsOptions,
      perMessageDeflate: false,
      handshakeTimeout: options.connectTimeoutMs,
      maxPayload: 64 * 1024 * 1024,
    });
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => {
        this.protocol = this.ws.protocol as ExecProtocol;
        if (!EXEC_PROTOCOLS.includes(this.protocol)) {
          reject(new BackupError('HOST_COMMAND_FAILED', `The Kubernetes API server answered the exec of ${options.target} with protocol "${this.ws.protocol}", which this tool does not speak.`, 'Kubernetes 1.30+ speaks v5.channel.k8s.io, older servers v4.channel.k8s.io.'));
          this.ws.terminate();
        } else resolve();
      });
      this.ws.once('unexpected-response', (_request, response) => {
        readBody(response).then((body) => reject(apiStatusError(response.statusCode ?? 0, body, `exec into ${options.target}`)), reject);
      });
      this.ws.once('error', (error) => reject(connectionError(error, options.target)));
    });
    this.opened.catch(() => {});
    this.ws.on('message', (data: Buffer, isBinary: boolean) => this.receive(isBinary ? data : Buffer.from(data)));
    const closed = new Promise<{ code: number; reason: string; error?: Error }>((resolve) => {
      let error: Error | undefined;
      this.ws.on('error', (e) => (error = e));
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), error }));
    });
    this.outcome = this.opened.then(async () => {
      const { code, error } = await closed;
      if (!this.statusText) {
        const failure = connectionLost(options.target, code, error);
        this.stdout.destroy(failure);
        throw failure;
      }
      this.stdout.push(null);
      await new Promise<void>((resolve) => {
        if (this.stdout.readableEnded) return resolve();
        this.stdout.once('end', resolve);
        this.stdout.once('close', resolve);
      });
      return parseExitStatus(this.statusText);
    });
    this.outcome.catch(() => {});
  }

  /** Waits for the websocket handshake; rejects with the API server's Status (401, 403, 404...). */
  ready(): Promise<void> {
    return this.opened;
  }

  onStderr(listener: (chunk: Buffer) => void): void {
    this.stderrListener = listener;
  }

  /** A writable for the command's stdin; ending it ends stdin on v5 (see the class comment for v4). */
  stdinWriter(): Writable {
    return new Writable({
      highWaterMark: 256 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.opened.then(() => this.send(CHANNEL.stdin, chunk, callback), callback);
      },
      final: (callback) => {
        this.opened.then(() => {
          if (this.protocol === 'v5.channel.k8s.io') this.ws.send(Buffer.from([CHANNEL.close, CHANNEL.stdin]), callback);
          else callback();
        }, callback);
      },
    });
  }

  /** Ends the session at once: the pod's command is not killed by this (see KubernetesHost.kill). */
  terminate(): void {
    this.ws.terminate();
  }

  private send(channel: number, chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback(connectionLost(this.options.target, 1006));
      return;
    }
    const frame = Buffer.allocUnsafe(chunk.length + 1);
    frame[0] = channel;
    chunk.copy(frame, 1);
    // The callback runs when ws has handed the frame to the socket: one frame in flight per
    // writer, so a slow pod (tar -x on a slow disk) slows the writer instead of filling memory.
    this.ws.send(frame, { binary: true }, (error) => callback(error ? connectionLost(this.options.target, 1006, error) : null));
  }

  private receive(message: Buffer): void {
    // API servers send an empty message (the channel byte alone) on each channel when the stream opens.
    if (message.length <= 1) return;
    const channel = message[0];
    const payload = message.subarray(1);
    if (channel === CHANNEL.stdout) {
      if (!this.stdout.destroyed && !this.stdout.push(payload)) this.ws.pause();
    } else if (channel === CHANNEL.stderr) {
      this.stderrListener(payload);
    } else if (channel === CHANNEL.error) {
      this.statusText += payload.toString('utf8');
    }
    // 255 (close) from the server and anything else carries nothing a non-tty exec needs.
  }
}

/** The error channel's Status: Success is exit 0, NonZeroExitCode carries the code in its causes. */
export function parseExitStatus(text: string): ExecOutcome {
  let status: KubeStatus;
  try {
    status = JSON.parse(text) as KubeStatus;
  } catch {
    return { failure: `unreadable exit status: ${text.slice(0, 200)}` };
  }
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = cause ? Number(cause.message) : NaN;
  if (status.reason === 'NonZeroExitCode' && Number.isInteger(code)) return { exitCode: code };
  return { failure: status.message ?? 'the command could not be run' };
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk.length + body.length > 65536 ? '' : chunk));
    response.on('end', () => resolve(body));
    response.on('error', reject);
  });
}

function connectionError(error: Error, target: string): BackupError {
  const timedOut = /timed out|timeout/i.test(error.message);
  return new BackupError(
    'KUBERNETES_UNREACHABLE',
    `Could not open an exec connection to ${target}: ${error.message}`,
    timedOut ? 'The Kubernetes API server did not answer in time; check the network and the kubeconfig\'s server address.' : 'Check the kubeconfig (server address, certificate authority) and that the API server is reachable.',
    { cause: error },
  );
}

function connectionLost(target: string, code: number, error?: Error): BackupError {
  return new BackupError(
    'HOST_COMMAND_FAILED',
    `The exec connection to ${target} was lost before the command finished (websocket close ${code}${error ? `: ${error.message}` : ''}); its output is incomplete.`,
    'Check the network to the Kubernetes API server and that the pod is still running, then retry.',
    { cause: error },
  );
}
