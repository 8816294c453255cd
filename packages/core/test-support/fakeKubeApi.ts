import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { lookupOsUser, runsAsRoot } from '../src/host/osUser.js';
import { installedPgBinDirs } from '../src/host/pgBinaries.js';
import { selfSignedCertificate } from './tlsCertificate.js';

/**
 * A Kubernetes API server for tests, faithful where our client depends on it: HTTPS with a
 * certificate made at start (openssl), bearer-token auth, `Status` error bodies with the real
 * codes and reasons, and the resources the tool uses — pods (get, list, create, delete),
 * namespaces and persistentvolumeclaims (get, create, delete), statefulsets and their scale
 * subresource (get, patch), SelfSubjectAccessReview — plus the pod exec endpoint speaking
 * `v5.channel.k8s.io` / `v4.channel.k8s.io` with the real channel numbering (0 stdin, 1 stdout,
 * 2 stderr, 3 error Status, 4 resize, 255 close on v5) — running the command on THIS machine, as
 * the `postgres` user when the tests run as root, like a container whose image runs as postgres.
 *
 * Two kinds of pods:
 * - pods given at start (and StatefulSet pods) run in this machine's namespaces: their "volume"
 *   is the directory named as its mountPath, and a pod with `pgdata` has PostgreSQL on that data
 *   directory as its main process (deleting the pod stops it with pg_ctl -m fast, creating it
 *   again starts it: what the kubelet's SIGTERM and the image's entrypoint do);
 * - pods created through the API are run like containers: `unshare` gives each its own mount, PID
 *   and network namespaces (a pause container's job); its PVC's directory is bind-mounted at the
 *   volume's mountPath, the container command runs as PID 1 with the pod's env, each exec enters
 *   those namespaces (`nsenter`) with the same env, and when PID 1 dies the kernel kills every
 *   process of the pod. Needs root (the tests run as root).
 *
 * Simplifications (say so where it matters):
 * - one token, one user; RBAC is a set of denied "verb resource[/subresource]" strings,
 *   whatever the namespace;
 * - no scheduler, no image pulls: a created pod is Running as soon as its sandbox is up; only
 *   the first container and one persistentVolumeClaim volume are honoured (other volumes are
 *   ignored); a created pod sees this machine's files outside its mountPath (a real container
 *   sees its image), shares its PostgreSQL binaries and runs as `postgres` whatever its
 *   securityContext says (fsGroup is imitated by chowning a new PVC's directory to postgres);
 * - PVCs are Bound at once (no storage class, no provisioner; the size is recorded, not
 *   enforced); deleting one that a pod still mounts waits for the pod (pvc-protection);
 * - deletion: a pod's containers get SIGTERM, then SIGKILL after min(grace period, 10 s); a
 *   namespace is Terminating until its pods are gone, then disappears; no watch, no events;
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
  /** The pod's data volume: a PVC mounted at mountPath (on this machine, that directory itself). */
  dataVolume?: { claimName: string; mountPath: string };
  env?: Record<string, string>;
  image?: string;
  /** PostgreSQL on this data directory is the pod's main process (see above). */
  pgdata?: string;
}

export interface FakeStatefulSet {
  namespace: string;
  name: string;
  replicas: number;
  /** Its pods, `<name>-<ordinal>`; the PostgreSQL of a pod with `pgdata` is already running. */
  pod: Omit<FakePod, 'namespace' | 'name'>;
}

export interface FakeKubeApiOptions {
  pods?: FakePod[];
  statefulSets?: FakeStatefulSet[];
  /** Claims that exist from the start, with the directory that holds their data. */
  persistentVolumeClaims?: { namespace: string; name: string; dir: string; storage?: string }[];
  /** Exec subprotocols the server accepts, preferred first; default v5 then v4 (Kubernetes 1.30+). */
  protocols?: string[];
}

export interface FakeKubeApi {
  url: string;
  token: string;
  /** PEM of the server's self-signed certificate (the kubeconfig's certificate-authority-data). */
  caPem: string;
  /** Where caPem is on disk (for a client's CA file, e.g. NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Writes a kubeconfig for this server (token auth); returns its path. */
  /** withCa false: no certificate-authority-data (the client then needs the CA from elsewhere). */
  writeKubeconfig(options?: { token?: string; context?: string; namespace?: string; withCa?: boolean }): string;
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
  /** What exists now: "ns/name" of pods and PVCs, namespace names, StatefulSet replicas. */
  objects(): { namespaces: string[]; pods: string[]; pvcs: string[]; replicas: Record<string, number> };
  /** The directory standing for a PVC's volume, while it exists. */
  pvcDirectory(namespace: string, name: string): string | undefined;
  /** REST calls seen ("VERB path"), for assertions. */
  requests: string[];
  close(): Promise<void>;
}

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Frames the exec handler lets wait in the socket before it stops reading the command's stdout. */
const MAX_FRAMES_IN_FLIGHT = 16;
const MAX_GRACE_MS = 10_000;
const BASE_NAMESPACES = ['default', 'kube-system'];

interface PodState {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  spec: Record<string, any>;
  ownerReferences?: object[];
  phase: 'Pending' | 'Running';
  deletionTimestamp?: string;
  env: Record<string, string>;
  /** Pods of the first kind: PostgreSQL's data directory when it is the main process. */
  pgdata?: string;
  /** Pods created through the API: the unshare process and the host pid of the container's PID 1. */
  sandbox?: { process: ChildProcess; pid?: number };
  /** Resolves once the pod is gone. */
  gone?: Promise<void>;
}

interface PvcState {
  namespace: string;
  name: string;
  uid: string;
  dir: string;
  spec: Record<string, any>;
  deletionTimestamp?: string;
  /** Its directory belongs to the fake (removed with it); false for claims given at start. */
  owned: boolean;
}

export async function startFakeKubeApi(options: FakeKubeApiOptions): Promise<FakeKubeApi> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-api-'));
  const { key, certPem: caPem, certFile: caFile } = selfSignedCertificate(dir);
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const denied = new Set<string>();
  const serverProtocols = options.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
  let dropAfter: { bytes: number; program?: string } | undefined;
  const execs: string[][] = [];
  const requests: string[] = [];
  const stats = { maxQueuedStdoutBytes: 0 };
  const children = new Set<ChildProcess>();
  const owner = runsAsRoot() ? lookupOsUser('postgres') : undefined;
  const pgBin = installedPgBinDirs()[0]?.binDir;
  const containerPath = pgBin ? `${pgBin}:${CONTAINER_PATH}` : CONTAINER_PATH;
  let uidCounter = 0;
  const newUid = () => `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`;

  const namespaces = new Map<string, { phase: 'Active' | 'Terminating'; uid: string }>();
  const pods = new Map<string, PodState>();
  const pvcs = new Map<string, PvcState>();
  const statefulSets = new Map<string, FakeStatefulSet & { uid: string }>();
  const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;
  const ensureNamespace = (name: string) => namespaces.has(name) || namespaces.set(name, { phase: 'Active', uid: newUid() });
  for (const name of BASE_NAMESPACES) ensureNamespace(name);

  const staticPod = (pod: FakePod, statefulSet?: FakeStatefulSet & { uid: string }): PodState => {
    ensureNamespace(pod.namespace);
    const containers = pod.containers ?? ['timescaledb'];
    const volume = pod.dataVolume;
    return {
      namespace: pod.namespace,
      name: pod.name,
      uid: newUid(),
      labels: pod.labels ?? {},
      phase: pod.phase ?? 'Running',
      env: pod.env ?? {},
      pgdata: pod.pgdata,
      ownerReferences: statefulSet ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: statefulSet.name, uid: statefulSet.uid, controller: true, blockOwnerDeletion: true }] : undefined,
      spec: {
        containers: containers.map((name) => ({
          name,
          image: pod.image ?? 'timescale/timescaledb-ha:pg15',
          env: Object.entries(pod.env ?? {}).map(([envName, value]) => ({ name: envName, value })),
          ports: [{ name: 'postgresql', containerPort: 5432, protocol: 'TCP' }],
          ...(volume ? { volumeMounts: [{ name: 'data', mountPath: volume.mountPath }] } : {}),
        })),
        ...(volume ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: volume.claimName } }] } : {}),
        securityContext: { runAsUser: owner?.uid ?? 1000, fsGroup: owner?.gid ?? 1000 },
        restartPolicy: 'Always',
      },
    };
  };
  for (const pod of options.pods ?? []) pods.set(keyOf(pod.namespace, pod.name), staticPod(pod));
  for (const claim of options.persistentVolumeClaims ?? []) {
    ensureNamespace(claim.namespace);
    pvcs.set(keyOf(claim.namespace, claim.name), { namespace: claim.namespace, name: claim.name, uid: newUid(), dir: claim.dir, owned: false, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: claim.storage ?? '10Gi' } } } });
  }
  for (const set of options.statefulSets ?? []) {
    const state = { ...set, uid: newUid() };
    statefulSets.set(keyOf(set.namespace, set.name), state);
    for (let ordinal = 0; ordinal < set.replicas; ordinal++) {
      const pod = staticPod({ ...set.pod, namespace: set.namespace, name: `${set.name}-${ordinal}` }, state);
      pods.set(keyOf(pod.namespace, pod.name), pod);
    }
  }

  const wss = new WebSocketServer({
    noServer: true,
    // Like the API server: the first protocol of its own list that the client offered.
    handleProtocols: (offered) => serverProtocols.find((p) => offered.has(p)) ?? false,
    maxPayload: 64 * 1024 * 1024,
  });

  const server: Server = createServer({ key, cert: caPem }, (req, res) => {
    readBody(req).then((body) => handleRest(req, res, body), () => res.destroy());
  });
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
    const pod = pods.get(keyOf(namespace, podName));
    if (!pod) return refuse(404, notFoundStatus('pods', podName));
    const container = url.searchParams.get('container');
    const containerNames = (pod.spec.containers as { name: string }[]).map((c) => c.name);
    if (container && !containerNames.includes(container)) {
      return refuse(400, { ...statusBase(400, 'BadRequest'), message: `container ${container} is not valid for pod ${podName}` });
    }
    if (pod.phase !== 'Running' || (pod.sandbox && pod.sandbox.pid === undefined)) {
      return refuse(400, { ...statusBase(400, 'BadRequest'), message: `container "${container ?? containerNames[0]}" in pod "${podName}" is waiting to start: ContainerCreating` });
    }
    const command = url.searchParams.getAll('command');
    wss.handleUpgrade(req, socket, head, (ws) => runExec(ws, pod, command, url.searchParams.get('stdin') === 'true'));
  });

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${token}`;
  }

  /** The REST API: one route table, checked in order. */
  function handleRest(req: IncomingMessage, res: ServerResponse, body: string): void {
    const send = (code: number, object: object) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(object));
    };
    if (!authorized(req)) return send(401, unauthorizedStatus());
    const url = new URL(req.url ?? '/', 'https://fake');
    const method = req.method ?? 'GET';
    requests.push(`${method} ${url.pathname}`);
    // Discovery, for kubectl (our own client does not use it). Plain JSON, no aggregated discovery:
    // clients fall back to it as they do with older API servers.
    const discovery = discoveryDocument(url.pathname, req.socket.localPort ?? 0);
    if (method === 'GET' && discovery) return send(200, discovery);
    const path = url.pathname;
    const forbid = (verb: string, resource: string, name: string, namespace: string) => (denied.has(`${verb} ${resource}`) ? (send(403, forbiddenStatus(verb, resource, name, namespace)), true) : false);
    const json = () => {
      try {
        return JSON.parse(body || '{}') as any;
      } catch {
        return undefined;
      }
    };
    let m: RegExpExecArray | null;

    if (method === 'POST' && path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      const review = json() as { spec: { resourceAttributes: { verb: string; resource: string; subresource?: string } } };
      const { verb, resource, subresource } = review.spec.resourceAttributes;
      const allowed = !denied.has(`${verb} ${resource}${subresource ? `/${subresource}` : ''}`);
      return send(201, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec: review.spec, status: allowed ? { allowed: true, reason: 'RBAC: allowed by RoleBinding "backup/llm-analytics-hub"' } : { allowed: false } });
    }

    // namespaces (cluster-scoped)
    if (path === '/api/v1/namespaces' && method === 'POST') {
      const object = json();
      const name = object?.metadata?.name as string | undefined;
      if (forbid('create', 'namespaces', name ?? '', '')) return;
      if (!name || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) return send(422, invalidStatus('namespaces', name ?? '', 'metadata.name', 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
      if (namespaces.has(name)) return send(409, alreadyExistsStatus('namespaces', name));
      namespaces.set(name, { phase: 'Active', uid: newUid() });
      return send(201, namespaceObject(name));
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      if (method === 'GET') {
        if (forbid('get', 'namespaces', name, '')) return;
        return namespaces.has(name) ? send(200, namespaceObject(name)) : send(404, notFoundStatus('namespaces', name));
      }
      if (method === 'DELETE') {
        if (forbid('delete', 'namespaces', name, '')) return;
        const namespace = namespaces.get(name);
        if (!namespace) return send(404, notFoundStatus('namespaces', name));
        namespace.phase = 'Terminating';
        send(200, namespaceObject(name));
        void terminateNamespace(name);
        return;
      }
    }

    // persistentvolumeclaims
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims$/.exec(path)) && method === 'POST') {
      const namespace = decodeURIComponent(m[1]!);
      const object = json();
      const name = object?.metadata?.name as string | undefined;
      if (forbid('create', 'persistentvolumeclaims', name ?? '', namespace)) return;
      const refusal = creationRefusal(namespace, 'persistentvolumeclaims', name, pvcs);
      if (refusal) return send(refusal.code, refusal.status);
      const claimDir = mkdtempSync(join(dir, `pvc-${namespace}-${name}-`));
      if (owner) chownSync(claimDir, owner.uid, owner.gid);
      const claim: PvcState = { namespace, name: name!, uid: newUid(), dir: claimDir, owned: true, spec: object.spec ?? {} };
      pvcs.set(keyOf(namespace, name!), claim);
      return send(201, pvcObject(claim));
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(path))) {
      const [namespace, name] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
      const claim = pvcs.get(keyOf(namespace, name));
      if (method === 'GET') {
        if (forbid('get', 'persistentvolumeclaims', name, namespace)) return;
        return claim ? send(200, pvcObject(claim)) : send(404, notFoundStatus('persistentvolumeclaims', name));
      }
      if (method === 'DELETE') {
        if (forbid('delete', 'persistentvolumeclaims', name, namespace)) return;
        if (!claim) return send(404, notFoundStatus('persistentvolumeclaims', name));
        claim.deletionTimestamp ??= new Date().toISOString();
        send(200, pvcObject(claim));
        releaseClaims();
        return;
      }
    }

    // pods
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path))) {
      const namespace = decodeURIComponent(m[1]!);
      if (method === 'GET') {
        if (forbid('list', 'pods', '', namespace)) return;
        // Only equality selectors (a=b,c=d): what a StatefulSet's selector needs.
        const wanted = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
        const items = [...pods.values()].filter((p) => p.namespace === namespace && wanted.every(([k, v]) => p.labels[k] === v)).map(podObject);
        return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
      }
      if (method === 'POST') {
        const object = json();
        const name = object?.metadata?.name as string | undefined;
        if (forbid('create', 'pods', name ?? '', namespace)) return;
        const refusal = creationRefusal(namespace, 'pods', name, pods);
        if (refusal) return send(refusal.code, refusal.status);
        if (!Array.isArray(object.spec?.containers) || object.spec.containers.length === 0) return send(422, invalidStatus('pods', name!, 'spec.containers', 'Required value'));
        const pod = createdPod(namespace, name!, object);
        pods.set(keyOf(namespace, name!), pod);
        send(201, podObject(pod));
        startSandbox(pod);
        return;
      }
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path))) {
      const [namespace, name] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
      const pod = pods.get(keyOf(namespace, name));
      if (method === 'GET') {
        if (forbid('get', 'pods', name, namespace)) return;
        return pod ? send(200, podObject(pod)) : send(404, notFoundStatus('pods', name));
      }
      if (method === 'DELETE') {
        if (forbid('delete', 'pods', name, namespace)) return;
        if (!pod) return send(404, notFoundStatus('pods', name));
        void deletePod(pod);
        return send(200, podObject(pod));
      }
    }

    // statefulsets and their scale subresource
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/]+)(\/scale)?$/.exec(path))) {
      const [namespace, name, scale] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), m[3]];
      const resource = scale ? 'statefulsets/scale' : 'statefulsets';
      const set = statefulSets.get(keyOf(namespace, name));
      if (method === 'GET') {
        if (forbid('get', resource, name, namespace)) return;
        if (!set) return send(404, notFoundStatus('statefulsets.apps', name));
        return send(200, scale ? scaleObject(set) : statefulSetObject(set));
      }
      if (method === 'PATCH' && scale) {
        if (forbid('patch', resource, name, namespace)) return;
        if (!set) return send(404, notFoundStatus('statefulsets.apps', name));
        const replicas = patchedReplicas(req.headers['content-type'] ?? '', json());
        if (replicas === undefined) return send(415, { ...statusBase(415, 'UnsupportedMediaType'), message: `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml` });
        set.replicas = replicas;
        send(200, scaleObject(set));
        void reconcile(set);
        return;
      }
    }
    send(404, notFoundStatus('', path));
  }

  function creationRefusal(namespace: string, resource: string, name: string | undefined, existing: Map<string, unknown>): { code: number; status: object } | undefined {
    if (!name) return { code: 422, status: invalidStatus(resource, '', 'metadata.name', 'Required value: name or generateName is required') };
    const ns = namespaces.get(namespace);
    if (!ns) return { code: 404, status: notFoundStatus('namespaces', namespace) };
    if (ns.phase === 'Terminating') {
      return { code: 403, status: { ...statusBase(403, 'Forbidden'), message: `${resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, details: { name, kind: resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] } } };
    }
    if (existing.has(keyOf(namespace, name))) return { code: 409, status: alreadyExistsStatus(resource, name) };
    return undefined;
  }

  function createdPod(namespace: string, name: string, object: any): PodState {
    const container = object.spec.containers[0];
    const env: Record<string, string> = {};
    for (const entry of container.env ?? []) if (typeof entry.value === 'string') env[entry.name] = entry.value;
    return { namespace, name, uid: newUid(), labels: object.metadata?.labels ?? {}, spec: object.spec, phase: 'Pending', env };
  }

  /** The created pod's "container": PID 1 of its own namespaces, its PVC at the mountPath. */
  function startSandbox(pod: PodState): void {
    if (!owner) throw new Error('The fake API server runs created pods with unshare/nsenter, which needs root.');
    const container = pod.spec.containers[0];
    const volume = (pod.spec.volumes ?? []).find((v: any) => v.persistentVolumeClaim);
    const mount = volume && (container.volumeMounts ?? []).find((vm: any) => vm.name === volume.name);
    const claim = volume && pvcs.get(keyOf(pod.namespace, volume.persistentVolumeClaim.claimName));
    if (volume && (!claim || claim.deletionTimestamp)) return; // unschedulable: stays Pending, as a pod whose claim is missing does
    const command = [...(container.command ?? ['sleep', 'infinity']), ...(container.args ?? [])];
    const script = 'set -e; if [ -n "$1" ]; then mkdir -p "$2"; mount --bind "$1" "$2"; fi; ip link set lo up; echo ready; shift 2; exec setpriv --reuid="$LLM_FAKE_UID" --regid="$LLM_FAKE_GID" --init-groups -- "$@"';
    const child = spawn('unshare', ['--mount', '--net', '--pid', '--fork', '--mount-proc', '--kill-child', '--', 'sh', '-c', script, 'sandbox', claim?.dir ?? '', mount?.mountPath ?? '', ...command], {
      env: { PATH: containerPath, HOME: owner.home, ...pod.env, LLM_FAKE_UID: String(owner.uid), LLM_FAKE_GID: String(owner.gid) },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    pod.sandbox = { process: child };
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (pod.sandbox!.pid === undefined && out.includes('ready\n')) {
        const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
        pod.sandbox!.pid = pid;
        pod.phase = 'Running';
      }
    });
    child.stderr!.resume();
    pod.gone = new Promise((resolve) => child.on('close', () => {
      children.delete(child);
      removePod(pod);
      resolve();
    }));
  }

  function deletePod(pod: PodState): Promise<void> {
    if (pod.deletionTimestamp) return pod.gone ?? Promise.resolve();
    pod.deletionTimestamp = new Date().toISOString();
    const grace = Math.min((pod.spec.terminationGracePeriodSeconds ?? 30) * 1000, MAX_GRACE_MS);
    if (pod.sandbox) {
      if (pod.sandbox.pid !== undefined) {
        try {
          process.kill(pod.sandbox.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      } else pod.sandbox.process.kill('SIGKILL');
      const kill = setTimeout(() => pod.sandbox?.process.kill('SIGKILL'), grace);
      return pod.gone!.then(() => clearTimeout(kill));
    }
    // A pod of the first kind: its main process is PostgreSQL on pgdata.
    pod.gone = (async () => {
      if (pod.pgdata) await runAsPostgres(['pg_ctl', '-D', pod.pgdata, '-m', 'fast', '-w', '-t', String(grace / 1000), 'stop']);
      removePod(pod);
    })();
    return pod.gone;
  }

  function removePod(pod: PodState): void {
    if (pods.get(keyOf(pod.namespace, pod.name)) === pod) pods.delete(keyOf(pod.namespace, pod.name));
    releaseClaims();
    for (const [name, namespace] of namespaces) if (namespace.phase === 'Terminating') void terminateNamespace(name);
  }

  /** PVCs marked for deletion go once no pod mounts them (kubernetes.io/pvc-protection). */
  function releaseClaims(): void {
    for (const [key, claim] of pvcs) {
      if (!claim.deletionTimestamp) continue;
      const inUse = [...pods.values()].some((pod) => pod.namespace === claim.namespace && (pod.spec.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim.name));
      if (inUse) continue;
      pvcs.delete(key);
      if (claim.owned) rmSync(claim.dir, { recursive: true, force: true });
    }
  }

  async function terminateNamespace(name: string): Promise<void> {
    for (const claim of pvcs.values()) if (claim.namespace === name) claim.deletionTimestamp ??= new Date().toISOString();
    const inside = [...pods.values()].filter((pod) => pod.namespace === name);
    for (const pod of inside) void deletePod(pod);
    releaseClaims();
    if (inside.length === 0 && ![...pvcs.values()].some((claim) => claim.namespace === name)) namespaces.delete(name);
  }

  /** The StatefulSet controller, ordered: pods above the replica count go, missing ones come (once the old one is gone). */
  async function reconcile(set: FakeStatefulSet & { uid: string }): Promise<void> {
    for (const pod of [...pods.values()]) {
      const ordinal = pod.ownerReferences && pod.namespace === set.namespace && pod.name.startsWith(`${set.name}-`) ? Number(pod.name.slice(set.name.length + 1)) : NaN;
      if (ordinal >= set.replicas) await deletePod(pod);
    }
    for (let ordinal = 0; ordinal < set.replicas; ordinal++) {
      const name = `${set.name}-${ordinal}`;
      const existing = pods.get(keyOf(set.namespace, name));
      if (existing?.deletionTimestamp) await existing.gone;
      if (pods.has(keyOf(set.namespace, name))) continue;
      const pod = staticPod({ ...set.pod, namespace: set.namespace, name }, set);
      pod.phase = 'Pending';
      pods.set(keyOf(set.namespace, name), pod);
      if (pod.pgdata) await runAsPostgres(['pg_ctl', '-D', pod.pgdata, '-l', join(dirname(pod.pgdata), 'server.log'), '-w', '-t', '60', 'start']);
      pod.phase = 'Running';
    }
  }

  function runAsPostgres(argv: string[]): Promise<number> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: containerPath, HOME: owner?.home ?? '/' }, cwd: '/', uid: owner?.uid, gid: owner?.gid, stdio: 'ignore' });
      child.on('error', () => resolve(127));
      child.on('close', (code) => resolve(code ?? 1));
    });
  }

  function podObject(pod: PodState): object {
    return {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels, uid: pod.uid, ...(pod.ownerReferences ? { ownerReferences: pod.ownerReferences } : {}), ...(pod.deletionTimestamp ? { deletionTimestamp: pod.deletionTimestamp } : {}) },
      spec: pod.spec,
      status: { phase: pod.phase, ...(pod.phase === 'Running' ? { podIP: '127.0.0.1' } : {}) },
    };
  }

  function namespaceObject(name: string): object {
    const namespace = namespaces.get(name)!;
    return { kind: 'Namespace', apiVersion: 'v1', metadata: { name, uid: namespace.uid, labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: namespace.phase } };
  }

  function pvcObject(claim: PvcState): object {
    return {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      metadata: { name: claim.name, namespace: claim.namespace, uid: claim.uid, finalizers: ['kubernetes.io/pvc-protection'], ...(claim.deletionTimestamp ? { deletionTimestamp: claim.deletionTimestamp } : {}) },
      spec: claim.spec,
      status: { phase: 'Bound', accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'], capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' } },
    };
  }

  function statefulSetObject(set: FakeStatefulSet & { uid: string }): object {
    const ready = [...pods.values()].filter((pod) => pod.namespace === set.namespace && pod.name.startsWith(`${set.name}-`) && pod.phase === 'Running' && !pod.deletionTimestamp).length;
    return {
      kind: 'StatefulSet',
      apiVersion: 'apps/v1',
      metadata: { name: set.name, namespace: set.namespace, uid: set.uid },
      spec: { replicas: set.replicas, selector: { matchLabels: set.pod.labels ?? {} }, serviceName: set.name, template: { metadata: { labels: set.pod.labels ?? {} } } },
      status: { replicas: set.replicas, readyReplicas: ready, availableReplicas: ready },
    };
  }

  function scaleObject(set: FakeStatefulSet & { uid: string }): object {
    const current = [...pods.values()].filter((pod) => pod.namespace === set.namespace && pod.name.startsWith(`${set.name}-`)).length;
    return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: set.name, namespace: set.namespace, uid: set.uid }, spec: { replicas: set.replicas }, status: { replicas: current, selector: Object.entries(set.pod.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') } };
  }
  function runExec(ws: WebSocket, pod: PodState, command: string[], withStdin: boolean): void {
    execs.push(command);
    let drop: number | undefined;
    if (dropAfter && (!dropAfter.program || command.some((arg) => arg === dropAfter!.program || arg.endsWith(`/${dropAfter!.program}`)))) {
      drop = dropAfter.bytes;
      dropAfter = undefined;
    }
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    // An exec'd process gets the container's environment (the pod spec's env and the image's PATH).
    const env = { PATH: containerPath, HOME: owner?.home ?? process.env.HOME ?? '/', ...(owner ? { USER: 'postgres' } : {}), ...pod.env };
    // The API server writes an empty message on each channel when the stream opens.
    for (const channel of [1, 2, 3]) ws.send(Buffer.from([channel]));
    const stdio: ('pipe' | 'ignore')[] = [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    const child = pod.sandbox
      ? spawn('nsenter', ['--target', String(pod.sandbox.pid), '--mount', '--net', '--pid', '--setuid', String(owner!.uid), '--setgid', String(owner!.gid), '--', ...command], { env, cwd: '/', stdio })
      : spawn(command[0]!, command.slice(1), { env, cwd: '/', uid: owner?.uid, gid: owner?.gid, stdio });
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
    caFile,
    execs,
    stats,
    writeKubeconfig({ token: userToken = token, context = 'fake', namespace = 'llm-analytics-hub', withCa = true } = {}) {
      const path = join(dir, `kubeconfig-${context}-${Math.random().toString(36).slice(2)}.yaml`);
      const ca = withCa ? `\n    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}` : '';
      writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${url}${ca}
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
    objects: () => ({
      namespaces: [...namespaces.keys()].filter((name) => !BASE_NAMESPACES.includes(name)).sort(),
      pods: [...pods.keys()].sort(),
      pvcs: [...pvcs.keys()].sort(),
      replicas: Object.fromEntries([...statefulSets].map(([key, set]) => [key, set.replicas])),
    }),
    pvcDirectory: (namespace, name) => pvcs.get(keyOf(namespace, name))?.dir,
    requests,
    close: async () => {
      for (const pod of pods.values()) if (pod.sandbox) pod.sandbox.process.kill('SIGKILL');
      await Promise.all([...pods.values()].filter((pod) => pod.sandbox).map((pod) => pod.gone));
      for (const child of children) child.kill('SIGKILL');
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
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

function alreadyExistsStatus(resource: string, name: string) {
  return { ...statusBase(409, 'AlreadyExists'), message: `${resource} "${name}" already exists`, details: { name, kind: resource } };
}

function invalidStatus(resource: string, name: string, field: string, message: string) {
  return { ...statusBase(422, 'Invalid'), message: `${resource} "${name}" is invalid: ${field}: ${message}`, details: { name, kind: resource, causes: [{ reason: 'FieldValueInvalid', message, field }] } };
}

/** replicas from a PATCH of the scale subresource: JSON patch (client-node's default) or merge patch (kubectl scale). */
function patchedReplicas(contentType: string, body: any): number | undefined {
  if (contentType.startsWith('application/json-patch+json') && Array.isArray(body)) {
    const op = body.find((o: any) => (o.op === 'replace' || o.op === 'add') && o.path === '/spec/replicas');
    return typeof op?.value === 'number' ? op.value : undefined;
  }
  if (contentType.startsWith('application/merge-patch+json') || contentType.startsWith('application/strategic-merge-patch+json')) {
    return typeof body?.spec?.replicas === 'number' ? body.spec.replicas : undefined;
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function forbiddenStatus(verb: string, resource: string, name: string, namespace: string) {
  const [plain, sub] = resource.split('/');
  return {
    ...statusBase(403, 'Forbidden'),
    message: `${plain} "${name}" is forbidden: User "system:serviceaccount:${namespace}:backup" cannot ${verb} resource "${resource}" in API group "${plain!.startsWith('statefulsets') ? 'apps' : ''}"${namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope'}`,
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
        groups: [
          { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } },
          { name: 'authorization.k8s.io', versions: [{ groupVersion: 'authorization.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'authorization.k8s.io/v1', version: 'v1' } },
        ],
      };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['create', 'delete', 'get'], shortNames: ['ns'] },
          { name: 'persistentvolumeclaims', singularName: 'persistentvolumeclaim', namespaced: true, kind: 'PersistentVolumeClaim', verbs: ['create', 'delete', 'get'], shortNames: ['pvc'] },
          { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list'], shortNames: ['po'] },
          { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
        ],
      };
    case '/apis/authorization.k8s.io/v1':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'authorization.k8s.io/v1', resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }] };
    case '/apis/apps/v1':
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'apps/v1',
        resources: [
          { name: 'statefulsets', singularName: 'statefulset', namespaced: true, kind: 'StatefulSet', verbs: ['get'], shortNames: ['sts'] },
          { name: 'statefulsets/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch'] },
        ],
      };
    default:
      return undefined;
  }
}
