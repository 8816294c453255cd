import { AppsV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig, type Cluster, type V1Namespace, type V1PersistentVolumeClaim, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { Agent, type AgentOptions } from 'node:https';
import type WebSocket from 'ws';
import { trustWithExtraCaCerts } from '../../config/extraCaCerts.js';
import { BackupError } from '../../errors.js';
import { RBAC_HINT, apiStatusError } from './status.js';

export interface KubeAccessOptions {
  /** Path of a kubeconfig file; default: client-node's search (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Context of the kubeconfig to use; default: its current context. */
  context?: string;
  /** Extra CA certificates (PEM file) trusted besides Node's roots (config/extraCaCerts.ts). */
  extraCaCertsFile?: string;
}

/** The kubeconfig, loaded the way kubectl does, with a clear error when there is none. */
export function loadKubeConfig(options: KubeAccessOptions): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    if (options.context) kc.setCurrentContext(options.context);
  } catch (error) {
    throw new BackupError('INVALID_ARGUMENT', `Could not load the kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${(error as Error).message}`, 'Pass --kubeconfig FILE or set KUBECONFIG; pick a context of that file with --context.', { cause: error });
  }
  if (options.context && !kc.getContexts().some((c) => c.name === options.context)) {
    throw new BackupError('INVALID_ARGUMENT', `The kubeconfig has no context "${options.context}".`, `Its contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}.`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new BackupError('INVALID_ARGUMENT', 'The kubeconfig names no cluster to talk to (no current context, or a context without a server).', 'Pass --kubeconfig FILE and --context NAME, or run inside a pod with a service account.');
  }
  if (options.extraCaCertsFile) trustExtraCaCerts(kc, cluster, options.extraCaCertsFile);
  return kc;
}

/**
 * A cluster without its own CA is verified against Node's default trust, which NODE_EXTRA_CA_CERTS
 * extends; deferred by bin/llm-analytics, that set is given to the cluster as its CA here. A
 * cluster with a CA (as Node ignores the extra certificates when a client names its CA) or without
 * TLS verification is left as it is.
 */
function trustExtraCaCerts(kc: KubeConfig, cluster: Cluster, file: string): void {
  if (cluster.caData || cluster.caFile || cluster.skipTLSVerify || !cluster.server.toLowerCase().startsWith('https:')) return;
  const caData = Buffer.from(trustWithExtraCaCerts(file).join('\n')).toString('base64');
  const clusters = kc.clusters.map((each) => (each === cluster ? { ...each, caData } : each));
  kc.loadFromOptions({ clusters, contexts: kc.contexts, users: kc.users, currentContext: kc.currentContext });
}

/** The REST calls the Kubernetes host needs, with API errors turned into BackupErrors. */
export class KubeApi {
  private readonly core: CoreV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly apps: AppsV1Api;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.authorization = kc.makeApiClient(AuthorizationV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  get server(): string {
    return this.kc.getCurrentCluster()!.server;
  }

  async readPod(namespace: string, name: string): Promise<V1Pod> {
    return call(() => this.core.readNamespacedPod({ name, namespace }), `get pod ${namespace}/${name}`);
  }

  /** The first running pod matching a label selector (the StatefulSet's, say), by name order. */
  async findPod(namespace: string, labelSelector: string): Promise<V1Pod> {
    const list = await call(() => this.core.listNamespacedPod({ namespace, labelSelector }), `list pods in ${namespace} with labels ${labelSelector}`);
    const running = list.items.filter((pod) => pod.status?.phase === 'Running').sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    if (!running[0]) {
      throw new BackupError('POD_NOT_FOUND', `No running pod in namespace ${namespace} matches the labels ${labelSelector}.`, 'Check the selector and the namespace (-n), e.g. with `kubectl get pods -n NAMESPACE -l SELECTOR`.');
    }
    return running[0];
  }

  /** SelfSubjectAccessReview: may we do `verb` on `resource` in `namespace`? Asked before starting. */
  async requirePermission(namespace: string, verb: string, resource: string, subresource?: string): Promise<void> {
    await this.requirePermissions([{ namespace, verb, resource, subresource }]);
  }

  /**
   * Asks for every permission an operation needs at once (one SelfSubjectAccessReview each, in
   * parallel) and names all the missing ones in one error, before anything is changed.
   */
  async requirePermissions(permissions: readonly Permission[]): Promise<void> {
    const answers = await Promise.all(permissions.map(async (p) => {
      const review = await call(
        () => this.authorization.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: p.namespace, verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource } } } }),
        `check permission to ${describePermission(p)}`,
      );
      return { permission: p, allowed: review.status?.allowed === true, reason: review.status?.reason };
    }));
    const missing = answers.filter((answer) => !answer.allowed);
    if (missing.length === 0) return;
    const scope = (p: Permission) => (p.namespace ? ` in namespace ${p.namespace}` : ' (cluster-wide)');
    const list = missing.map(({ permission, reason }) => `${describePermission(permission)}${scope(permission)}${reason ? ` (${reason})` : ''}`);
    throw new BackupError('KUBERNETES_FORBIDDEN', `Not allowed to ${list.join(', ')}.`, RBAC_HINT);
  }

  async readNamespace(name: string): Promise<V1Namespace | undefined> {
    return orUndefinedOn404(() => this.core.readNamespace({ name }), `get namespace ${name}`);
  }

  /**
   * Whether a namespace exists; undefined when we may not read namespaces (a namespace-scoped
   * Role): then it is taken as existing, and creating things in it says otherwise if it does not.
   */
  async namespaceExists(name: string): Promise<boolean | undefined> {
    try {
      return (await this.readNamespace(name)) !== undefined;
    } catch (error) {
      if ((error as BackupError).code === 'KUBERNETES_FORBIDDEN') return undefined;
      throw error;
    }
  }

  /** Creates a namespace; false when it already existed (409 AlreadyExists). */
  async createNamespace(name: string, labels: Record<string, string>): Promise<boolean> {
    return createOrExists(() => this.core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } }), `create namespace ${name}`);
  }

  async deleteNamespace(name: string): Promise<void> {
    await orUndefinedOn404(() => this.core.deleteNamespace({ name }), `delete namespace ${name}`);
  }

  async readPersistentVolumeClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    return orUndefinedOn404(() => this.core.readNamespacedPersistentVolumeClaim({ namespace, name }), `get persistentvolumeclaim ${namespace}/${name}`);
  }

  async createPersistentVolumeClaim(namespace: string, body: V1PersistentVolumeClaim): Promise<void> {
    await call(() => this.core.createNamespacedPersistentVolumeClaim({ namespace, body }), `create persistentvolumeclaim ${namespace}/${body.metadata?.name}`);
  }

  async deletePersistentVolumeClaim(namespace: string, name: string): Promise<void> {
    await orUndefinedOn404(() => this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }), `delete persistentvolumeclaim ${namespace}/${name}`);
  }

  async createPod(namespace: string, body: V1Pod): Promise<void> {
    await call(() => this.core.createNamespacedPod({ namespace, body }), `create pod ${namespace}/${body.metadata?.name}`);
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await orUndefinedOn404(() => this.core.deleteNamespacedPod({ namespace, name }), `delete pod ${namespace}/${name}`);
  }

  async readPodIfExists(namespace: string, name: string): Promise<V1Pod | undefined> {
    return orUndefinedOn404(() => this.core.readNamespacedPod({ namespace, name }), `get pod ${namespace}/${name}`);
  }

  async readStatefulSet(namespace: string, name: string): Promise<V1StatefulSet> {
    return call(() => this.apps.readNamespacedStatefulSet({ namespace, name }), `get statefulset ${namespace}/${name}`);
  }

  /** PATCH of the scale subresource (JSON patch), what `kubectl scale` does. */
  async scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void> {
    await call(() => this.apps.patchNamespacedStatefulSetScale({ namespace, name, body: [{ op: 'replace', path: '/spec/replicas', value: replicas }] }), `scale statefulset ${namespace}/${name} to ${replicas}`);
  }

  /**
   * Polls a pod until it is Running (and not being deleted) or gone (404). A pod that ends
   * (Failed/Succeeded) while we wait for Running, or a timeout, is an error naming the pod.
   */
  async waitForPod(namespace: string, name: string, until: 'running' | 'gone', options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      if (options.signal?.aborted) throw new BackupError('CANCELLED', `Cancelled while waiting for pod ${namespace}/${name}.`);
      const pod = await this.readPodIfExists(namespace, name);
      if (until === 'gone' && !pod) return;
      const phase = pod?.status?.phase;
      if (until === 'running' && phase === 'Running' && !pod?.metadata?.deletionTimestamp) return;
      if (until === 'running' && (phase === 'Failed' || phase === 'Succeeded')) {
        throw new BackupError('HOST_COMMAND_FAILED', `Pod ${namespace}/${name} ended (${phase}) before it could be used.`, `See kubectl describe pod -n ${namespace} ${name} and its logs.`);
      }
      if (Date.now() > deadline) {
        const what = until === 'running' ? `to be Running (it is ${phase ?? 'not created yet'})` : 'to go away';
        throw new BackupError('HOST_COMMAND_FAILED', `Timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for pod ${namespace}/${name} ${what}.`, `See kubectl describe pod -n ${namespace} ${name} (image pull, scheduling, volume binding).`);
      }
      await sleep(delay, options.signal);
    }
  }

  /** TLS and auth of the kubeconfig as `ws` client options (CA, client certificate, bearer token). */
  async websocketOptions(): Promise<WebSocket.ClientOptions> {
    const applied: WebSocket.ClientOptions & { agent?: { options?: Record<string, unknown> } } = {};
    await this.kc.applyToHTTPSOptions(applied);
    // client-node puts the TLS material on an https.Agent; ws makes its own TLS connection, so the
    // material is handed over directly (the agent would be bypassed and the CA lost).
    const tls = applied.agent?.options ?? {};
    const pick = (name: string) => (applied as Record<string, unknown>)[name] ?? tls[name];
    const options: Record<string, unknown> = { headers: applied.headers, auth: (applied as { auth?: string }).auth };
    for (const name of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized']) {
      if (pick(name) !== undefined) options[name] = pick(name);
    }
    if (this.kc.getCurrentCluster()?.skipTLSVerify) options.rejectUnauthorized = false;
    // One agent for all the commands of a run: it resumes TLS sessions, so each exec after the
    // first skips most of the handshake (a backup runs a dozen commands).
    const { headers: _headers, auth: _auth, ...tlsOptions } = options;
    options.agent = new Agent({ ...(tlsOptions as AgentOptions), keepAlive: false, maxCachedSessions: 16 });
    return options as WebSocket.ClientOptions;
  }

  /** The exec endpoint's URL for a command. */
  execUrl(namespace: string, pod: string, container: string | undefined, argv: readonly string[], stdin: boolean): string {
    const base = new URL(this.server.replace(/\/+$/, ''));
    base.protocol = base.protocol === 'http:' ? 'ws:' : 'wss:';
    const query = new URLSearchParams();
    for (const arg of argv) query.append('command', arg);
    if (container) query.set('container', container);
    query.set('stdin', String(stdin));
    query.set('stdout', 'true');
    query.set('stderr', 'true');
    query.set('tty', 'false');
    const prefix = base.pathname === '/' ? '' : base.pathname;
    return `${base.origin}${prefix}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec?${query}`;
  }
}

/** One permission as SelfSubjectAccessReview asks it; no namespace means cluster-scoped. */
export interface Permission {
  namespace?: string;
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
}

function describePermission(p: Permission): string {
  return `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** A read or delete where 404 is an answer (it is not there), not an error. */
async function orUndefinedOn404<T>(request: () => Promise<T>, action: string): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    return call(() => Promise.reject(error), action);
  }
}

async function createOrExists(request: () => Promise<unknown>, action: string): Promise<boolean> {
  try {
    await request();
    return true;
  } catch (error) {
    if (httpStatusOf(error) === 409) return false;
    return call(() => Promise.reject(error), action);
  }
}

async function call<T>(request: () => Promise<T>, action: string): Promise<T> {
  try {
    return await request();
  } catch (error) {
    const apiError = error as { code?: unknown; body?: unknown; message?: string };
    if (typeof apiError.code === 'number') {
      const body = typeof apiError.body === 'string' ? apiError.body : JSON.stringify(apiError.body ?? '');
      throw apiStatusError(apiError.code, body, action);
    }
    throw new BackupError('KUBERNETES_UNREACHABLE', `Could not reach the Kubernetes API server to ${action}: ${causeMessage(error)}`, 'Check the kubeconfig (server address, certificate authority) and the network to the API server.', { cause: error });
  }
}

function causeMessage(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string; code?: string } };
  return [e.message, e.cause?.code, e.cause?.message].filter(Boolean).join(': ');
}
