import { AuthorizationV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Agent, type AgentOptions } from 'node:https';
import type WebSocket from 'ws';
import { BackupError } from '../../errors.js';
import { RBAC_HINT, apiStatusError } from './status.js';

export interface KubeAccessOptions {
  /** Path of a kubeconfig file; default: client-node's search (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Context of the kubeconfig to use; default: its current context. */
  context?: string;
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
  return kc;
}

/** The REST calls the Kubernetes host needs, with API errors turned into BackupErrors. */
export class KubeApi {
  private readonly core: CoreV1Api;
  private readonly authorization: AuthorizationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.authorization = kc.makeApiClient(AuthorizationV1Api);
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
    const review = await call(
      () => this.authorization.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace, verb, resource, subresource } } } }),
      `check permission to ${verb} ${resource}${subresource ? `/${subresource}` : ''}`,
    );
    if (!review.status?.allowed) {
      const what = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
      throw new BackupError('KUBERNETES_FORBIDDEN', `Not allowed to ${what} in namespace ${namespace}${review.status?.reason ? ` (${review.status.reason})` : ''}.`, RBAC_HINT);
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
