import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { lookupOsUser, runsAsRoot } from '../src/host/osUser.js';
import { installedPgBinDirs } from '../src/host/pgBinaries.js';

/**
 * A Kubernetes API server for tests, faithful where our client depends on it: HTTPS with a
 * certificate made at start (openssl), bearer-token auth, `Status` error bodies with the real
 * codes and reasons, pods GET/list, SelfSubjectAccessReview, and the pod exec endpoint speaking
 * `v5.channel.k8s.io` / `v4.channel.k8s.io` with the real channel numbering (0 stdin, 1 stdout,
 * 2 stderr, 3 error Status, 4 resize, 255 close on v5) — running the command on THIS machine, as
 * the `postgres` user when the tests run as root, like a container whose image runs as postgres.
 *
 * Simplifications (say so where it matters):
 * - one token, one user; RBAC is a set of denied "verb resource[/subresource]" strings;
 * - pods are a fixed list given at start; there is no watch, no other resource;
 * - the "container" is this machine: its PATH is the newest PostgreSQL bin directory plus the
 *   usual system directories (an image sets its PATH likewise), its files are this machine's;
 * - the API server and kubelet are one process: the real path is apiserver → kubelet → runtime,
 *   with its own buffering, but the same observable protocol at the client's socket;
 * - resize messages (channel 4) are accepted and ignored (no tty support).
 */
export interface FakePod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  containers?: string[];
  phase?: 'Running' | 'Pending';
}

export interface FakeKubeApiOptions {
  pods: FakePod[];
  /** Exec subprotocols the server accepts, preferred first; default v5 then v4 (Kubernetes 1.30+). */
  protocols?: string[];
}

export interface FakeKubeApi {
  url: string;
  token: string;
  /** PEM of the server's self-signed certificate (the kubeconfig's certificate-authority-data). */
  caPem: string;
  /** Writes a kubeconfig for this server (token auth); returns its path. */
  writeKubeconfig(options?: { token?: string; context?: string; namespace?: string }): string;
  /** RBAC of the test identity: e.g. deny('create', 'pods', 'exec'). */
  deny(verb: string, resource: string, subresource?: string): void;
  allowAll(): void;
  /**
   * Drops the TCP connection of the next exec (the next one running `program`, when given) once
   * it has sent this many stdout bytes: a network failure, with no close frame and no status.
   */
  dropNextExecAfter(bytes: number, program?: string): void;
  /** Exec sessions seen (argv of each), for assertions. */
  execs: string[][];
  /** Most bytes queued on an exec socket at once (shows backpressure toward the client). */
  stats: { maxQueuedStdoutBytes: number };
  close(): Promise<void>;
}

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Frames the exec handler lets wait in the socket before it stops reading the command's stdout. */
const MAX_FRAMES_IN_FLIGHT = 16;

export async function startFakeKubeApi(options: FakeKubeApiOptions): Promise<FakeKubeApi> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-api-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const key = readFileSync(join(dir, 'key.pem'));
  const caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const denied = new Set<string>();
  const serverProtocols = options.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
  let dropAfter: { bytes: number; program?: string } | undefined;
  const execs: string[][] = [];
  const stats = { maxQueuedStdoutBytes: 0 };
  const children = new Set<ChildProcess>();

  const wss = new WebSocketServer({
    noServer: true,
    // Like the API server: the first protocol of its own list that the client offered.
    handleProtocols: (offered) => serverProtocols.find((p) => offered.has(p)) ?? false,
    maxPayload: 64 * 1024 * 1024,
  });

  const server: Server = createServer({ key, cert: caPem }, (req, res) => handleRest(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    const refuse = (code: number, status: object) => {
      const body = JSON.stringify(status);
      socket.end(`HTTP/1.1 ${code} ${httpReason(code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    if (!authorized(req)) return refuse(401, unauthorizedStatus());
    if (!match) return refuse(404, notFoundStatus('', ''));
    const [namespace, podName] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    if (denied.has('create pods/exec')) return refuse(403, forbiddenStatus('create', 'pods/exec', podName, namespace));
    const pod = options.pods.find((p) => p.namespace === namespace && p.name === podName);
    if (!pod) return refuse(404, notFoundStatus('pods', podName));
    const container = url.searchParams.get('container');
    if (container && !(pod.containers ?? ['timescaledb']).includes(container)) {
      return refuse(400, { ...statusBase(400, 'BadRequest'), message: `container ${container} is not valid for pod ${podName}` });
    }
    const command = url.searchParams.getAll('command');
    wss.handleUpgrade(req, socket, head, (ws) => runExec(ws, command, url.searchParams.get('stdin') === 'true'));
  });

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${token}`;
  }

  function handleRest(req: IncomingMessage, res: ServerResponse): void {
    const send = (code: number, body: object) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!authorized(req)) return send(401, unauthorizedStatus());
    const url = new URL(req.url ?? '/', 'https://fake');
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    const podList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    // Discovery, for kubectl (our own client does not use it). Plain JSON, no aggregated discovery:
    // clients fall back to it as they do with older API servers.
    const discovery = discoveryDocument(url.pathname, req.socket.localPort ?? 0);
    if (req.method === 'GET' && discovery) return send(200, discovery);
    if (req.method === 'GET' && pod) {
      const [namespace, name] = [decodeURIComponent(pod[1]!), decodeURIComponent(pod[2]!)];
      if (denied.has('get pods')) return send(403, forbiddenStatus('get', 'pods', name, namespace));
      const found = options.pods.find((p) => p.namespace === namespace && p.name === name);
      return found ? send(200, podObject(found)) : send(404, notFoundStatus('pods', name));
    }
    if (req.method === 'GET' && podList) {
      const namespace = decodeURIComponent(podList[1]!);
      if (denied.has('list pods')) return send(403, forbiddenStatus('list', 'pods', '', namespace));
      // Only equality selectors (a=b,c=d): what a StatefulSet's selector needs.
      const wanted = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
      const items = options.pods.filter((p) => p.namespace === namespace && wanted.every(([k, v]) => p.labels?.[k] === v)).map(podObject);
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
    }
    if (req.method === 'POST' && url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const review = JSON.parse(body) as { spec: { resourceAttributes: { verb: string; resource: string; subresource?: string } } };
        const { verb, resource, subresource } = review.spec.resourceAttributes;
        const allowed = !denied.has(`${verb} ${resource}${subresource ? `/${subresource}` : ''}`);
        send(201, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec: review.spec, status: allowed ? { allowed: true, reason: 'RBAC: allowed by RoleBinding "backup/llm-analytics-hub"' } : { allowed: false } });
      });
      return;
    }
    send(404, notFoundStatus('', url.pathname));
  }

  function runExec(ws: WebSocket, command: string[], withStdin: boolean): void {
    execs.push(command);
    let drop: number | undefined;
    if (dropAfter && (!dropAfter.program || command.some((arg) => arg === dropAfter!.program || arg.endsWith(`/${dropAfter!.program}`)))) {
      drop = dropAfter.bytes;
      dropAfter = undefined;
    }
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    const owner = runsAsRoot() ? lookupOsUser('postgres') : undefined;
    const pgBin = installedPgBinDirs()[0]?.binDir;
    const env = { PATH: pgBin ? `${pgBin}:${CONTAINER_PATH}` : CONTAINER_PATH, HOME: owner?.home ?? process.env.HOME ?? '/', ...(owner ? { USER: 'postgres' } : {}) };
    // The API server writes an empty message on each channel when the stream opens.
    for (const channel of [1, 2, 3]) ws.send(Buffer.from([channel]));
    const child = spawn(command[0]!, command.slice(1), { env, cwd: '/', uid: owner?.uid, gid: owner?.gid, stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    children.add(child);
    let inFlight = 0;
    let queued = 0;
    let sent = 0;
    const forward = (channel: number, stream: NodeJS.ReadableStream & { pause(): void; resume(): void }) => (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      const frame = Buffer.allocUnsafe(chunk.length + 1);
      frame[0] = channel;
      chunk.copy(frame, 1);
      inFlight++;
      queued += chunk.length;
      stats.maxQueuedStdoutBytes = Math.max(stats.maxQueuedStdoutBytes, queued);
      if (inFlight >= MAX_FRAMES_IN_FLIGHT) stream.pause();
      ws.send(frame, () => {
        inFlight--;
        queued -= chunk.length;
        if (inFlight < MAX_FRAMES_IN_FLIGHT) stream.resume();
      });
      if (channel === 1 && drop !== undefined) {
        sent += chunk.length;
        // A network failure: the TCP connection is gone, no close frame, no status.
        if (sent >= drop) ws.terminate();
      }
    };
    child.stdout!.on('data', forward(1, child.stdout!));
    child.stderr!.on('data', forward(2, child.stderr!));
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0 && child.stdin && !child.stdin.destroyed) {
        if (!child.stdin.write(data.subarray(1))) {
          ws.pause();
          child.stdin.once('drain', () => ws.resume());
        }
      } else if (v5 && data[0] === 255 && data[1] === 0) {
        child.stdin?.end();
      }
      // v4 has no way to end stdin: the command sees EOF only when the connection closes.
    });
    child.stdin?.on('error', () => {});
    // A command that stopped reading must not leave the socket paused (the close handshake needs it).
    child.stdin?.on('close', () => ws.resume());
    let spawnError: Error | undefined;
    child.on('error', (error) => (spawnError = error));
    child.on('close', (code, signal) => {
      children.delete(child);
      ws.resume();
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(exitStatus(command, code, signal, spawnError)))]));
      ws.close(1000);
    });
    ws.on('close', () => {
      // A real runtime does not kill an exec'd process when its stream goes away; the process
      // only learns of it when it writes to the closed pipe (SIGPIPE) or reads EOF.
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    caPem,
    execs,
    stats,
    writeKubeconfig({ token: userToken = token, context = 'fake', namespace = 'llm-analytics-hub' } = {}) {
      const path = join(dir, `kubeconfig-${context}-${Math.random().toString(36).slice(2)}.yaml`);
      const ca = Buffer.from(caPem).toString('base64');
      writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${url}
    certificate-authority-data: ${ca}
users:
- name: backup
  user:
    token: ${userToken}
contexts:
- name: ${context}
  context:
    cluster: fake
    user: backup
    namespace: ${namespace}
current-context: ${context}
`);
      return path;
    },
    deny: (verb, resource, subresource) => denied.add(`${verb} ${resource}${subresource ? `/${subresource}` : ''}`),
    allowAll: () => denied.clear(),
    dropNextExecAfter: (bytes, program) => (dropAfter = { bytes, program }),
    close: async () => {
      for (const child of children) child.kill('SIGKILL');
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function podObject(pod: FakePod): object {
  const containers = pod.containers ?? ['timescaledb'];
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels ?? {}, uid: '00000000-0000-0000-0000-000000000000' },
    spec: { containers: containers.map((name) => ({ name, image: 'timescale/timescaledb-ha:pg15' })) },
    status: { phase: pod.phase ?? 'Running' },
  };
}

function statusBase(code: number, reason: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code };
}

function unauthorizedStatus() {
  return { ...statusBase(401, 'Unauthorized'), message: 'Unauthorized' };
}

function notFoundStatus(resource: string, name: string) {
  return { ...statusBase(404, 'NotFound'), message: `${resource} "${name}" not found`, details: { name, kind: resource } };
}

function forbiddenStatus(verb: string, resource: string, name: string, namespace: string) {
  const [plain, sub] = resource.split('/');
  return {
    ...statusBase(403, 'Forbidden'),
    message: `${plain} "${name}" is forbidden: User "system:serviceaccount:${namespace}:backup" cannot ${verb} resource "${resource}" in API group "" in the namespace "${namespace}"`,
    details: { name, kind: plain, ...(sub ? {} : {}) },
  };
}

/** What the kubelet puts on the error channel when the command ends. */
function exitStatus(command: string[], code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): object {
  if (spawnError) {
    const message = `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${command[0]}": executable file not found in $PATH: unknown`;
    return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
  }
  // Runtimes report a command killed by a signal as 128 + the signal number.
  const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

function httpReason(code: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as Record<number, string>)[code] ?? 'Error';
}

function discoveryDocument(path: string, port: number): object | undefined {
  switch (path) {
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }] };
    case '/apis':
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [{ name: 'authorization.k8s.io', versions: [{ groupVersion: 'authorization.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'authorization.k8s.io/v1', version: 'v1' } }],
      };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
          { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
        ],
      };
    case '/apis/authorization.k8s.io/v1':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'authorization.k8s.io/v1', resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }] };
    default:
      return undefined;
  }
}
