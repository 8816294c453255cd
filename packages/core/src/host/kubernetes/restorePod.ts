import type { V1Container, V1EnvVar, V1Pod, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';

import { BackupError } from '../../errors.js';
import type { KubeApi, Permission } from './kubeApi.js';
import { KubernetesHost } from './kubernetesHost.js';

/**
 * What a restore pod copies from the database pod: the image and how it runs (container name,
 * literal env, security contexts, resources, pull secrets), where the data volume is mounted and
 * where PGDATA is in it, PostgreSQL's port, the claim of the data volume and its size.
 */
export interface SourcePodSettings {
  namespace: string;
  pod: string;
  container: V1Container;
  podSpec: NonNullable<V1Pod['spec']>;
  /** The volume holding the data directory, and where it is mounted. */
  dataVolume: { name: string; mountPath: string; claimName?: string };
  pgdata: string;
  port: number;
  /** The StatefulSet that owns the pod, if one does. */
  statefulSet?: string;
  /** The data claim's requested size and class (when the claim could be read). */
  storage?: { request?: string; storageClassName?: string };
}

export function sourcePodSettings(host: KubernetesHost, pod: V1Pod, facts: { dataDirectory: string; port: number }): SourcePodSettings {
  const spec = pod.spec;
  const wanted = host.options.container;
  const container = spec?.containers.find((c) => (wanted ? c.name === wanted : true));
  if (!spec || !container) throw new BackupError('POD_NOT_FOUND', `Pod ${host.description} has no container${wanted ? ` "${wanted}"` : ''}.`);
  // The mount that holds the data directory: the longest mountPath that is a prefix of it.
  const mounts = (container.volumeMounts ?? []).filter((m) => facts.dataDirectory === m.mountPath || facts.dataDirectory.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`));
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) {
    throw new BackupError('INVALID_ARGUMENT', `The data directory ${facts.dataDirectory} of ${host.description} is on no volume of the pod (it would not survive the container).`, 'Restores in Kubernetes need the data directory on a PersistentVolumeClaim.');
  }
  const volume = (spec.volumes ?? []).find((v) => v.name === mount.name);
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.kind === 'StatefulSet' && ref.controller !== false);
  return {
    namespace: pod.metadata?.namespace ?? host.namespace,
    pod: pod.metadata?.name ?? host.name ?? '',
    container,
    podSpec: spec,
    dataVolume: { name: mount.name, mountPath: mount.mountPath.replace(/\/+$/, ''), claimName: volume?.persistentVolumeClaim?.claimName },
    pgdata: facts.dataDirectory.replace(/\/+$/, ''),
    port: facts.port,
    statefulSet: owner?.name,
  };
}

/**
 * PGDATA in a restore pod: the source's, except on a new claim when the source's is the mount
 * point: it must be a subdirectory (a mount point cannot be moved aside, and a fresh volume's root
 * may hold lost+found; the postgres image's documentation says the same).
 */
export function restorePodPgdata(settings: SourcePodSettings, existingClaim: boolean): string {
  return existingClaim || settings.pgdata !== settings.dataVolume.mountPath ? settings.pgdata : `${settings.dataVolume.mountPath}/pgdata`;
}

/** An in-place restore moves the data directory aside: it must not be the volume's mount point. Checked before anything is stopped. */
export function assertDataDirectoryMovable(settings: SourcePodSettings): void {
  if (settings.dataVolume.mountPath !== settings.pgdata) return;
  throw new BackupError('INVALID_ARGUMENT', `The data directory ${settings.pgdata} is the volume's mount point; it cannot be moved aside.`, 'Set PGDATA to a subdirectory of the volume (as the postgres image documents), or restore with --target-namespace.');
}

/** The permissions a pod of our own in `namespace` needs (restore helper, --target-namespace, --test-namespace). */
export function restorePodPermissions(namespace: string): Permission[] {
  return [
    { namespace, verb: 'create', resource: 'pods' },
    { namespace, verb: 'get', resource: 'pods' },
    { namespace, verb: 'delete', resource: 'pods' },
    { namespace, verb: 'create', resource: 'pods', subresource: 'exec' },
  ];
}

export interface RestorePod {
  namespace: string;
  name: string;
  /** Claim created for it (undefined when it mounts an existing one). */
  claimName?: string;
  createdNamespace: boolean;
  /** Where its data volume is mounted and the data directory to restore into. */
  mountPath: string;
  pgdata: string;
  port: number;
  host: KubernetesHost;
  /** Deletes what was created (pod, claim, namespace) and waits for the pod; true when all is gone. */
  remove(): Promise<boolean>;
}

export interface RestorePodRequest {
  namespace: string;
  purpose: 'restore' | 'verify' | 'restore-helper';
  backupId: string;
  /** Mount this existing claim (in-place restores); otherwise a new claim of `storageBytes` is created. */
  existingClaim?: string;
  storageBytes?: number;
  /** restartPolicy Never for throwaway pods. */
  keep: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Creates a pod (and its claim, and the namespace when absent) from the source pod's image and
 * settings, and waits until it runs. Its container does not start PostgreSQL: it waits, and the
 * restore engine starts the server with pg_ctl through exec as on any host; on deletion it stops
 * the server cleanly (fast shutdown) before exiting. If anything fails after the first creation,
 * what was created is deleted again before the error is thrown.
 */
export async function createRestorePod(source: KubernetesHost, settings: SourcePodSettings, request: RestorePodRequest): Promise<RestorePod> {
  const { api } = await source.ready();
  const suffix = randomBytes(3).toString('hex');
  const name = `llm-analytics-${request.purpose}-${suffix}`;
  const claimName = request.existingClaim ? undefined : name;
  const pgdata = restorePodPgdata(settings, request.existingClaim !== undefined);
  const labels = { 'app.kubernetes.io/name': 'timescaledb', 'app.kubernetes.io/managed-by': 'llm-analytics', 'app.kubernetes.io/component': request.purpose };
  const annotations = { 'llm-analytics/backup-id': request.backupId, 'llm-analytics/source-pod': `${settings.namespace}/${settings.pod}` };
  const created: { namespace: boolean; claim: boolean; pod: boolean } = { namespace: false, claim: false, pod: false };
  const remove = async (): Promise<boolean> => removeCreated(api, request.namespace, name, claimName, created);
  try {
    if ((await api.namespaceExists(request.namespace)) === false) created.namespace = await api.createNamespace(request.namespace, { 'app.kubernetes.io/managed-by': 'llm-analytics' });
    if (claimName) {
      await api.createPersistentVolumeClaim(request.namespace, claimManifest(claimName, request.namespace, labels, settings, request.storageBytes ?? 0));
      created.claim = true;
    }
    await api.createPod(request.namespace, podManifest(name, request.namespace, labels, annotations, settings, { claimName: request.existingClaim ?? claimName!, pgdata, keep: request.keep, pgCtl: source.pgTool('pg_ctl') }));
    created.pod = true;
    await api.waitForPod(request.namespace, name, 'running', { timeoutMs: request.timeoutMs, signal: request.signal });
  } catch (error) {
    await remove().catch(() => false);
    throw error;
  }
  const host = new KubernetesHost({ ...source.options, namespace: request.namespace, pod: name, labelSelector: undefined, container: settings.container.name });
  return { namespace: request.namespace, name, claimName, createdNamespace: created.namespace, mountPath: settings.dataVolume.mountPath, pgdata, port: settings.port, host, remove };
}

async function removeCreated(api: KubeApi, namespace: string, pod: string, claim: string | undefined, created: { namespace: boolean; claim: boolean; pod: boolean }): Promise<boolean> {
  let gone = true;
  if (created.pod) {
    await api.deletePod(namespace, pod);
    // Not tied to the caller's signal: clean-up also runs after Ctrl-C.
    gone = await api.waitForPod(namespace, pod, 'gone', { timeoutMs: 120_000 }).then(() => true, () => false);
  }
  if (created.claim && claim) {
    await api.deletePersistentVolumeClaim(namespace, claim);
    gone = gone && (await waitUntil(async () => !(await api.readPersistentVolumeClaim(namespace, claim)), 60_000));
  }
  if (created.namespace) await api.deleteNamespace(namespace);
  return gone;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; Date.now() < deadline; delay = Math.min(delay * 2, 2000)) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return false;
}

/**
 * The container's command: keep the pod alive without starting PostgreSQL (the restore starts it
 * with pg_ctl through exec), and on SIGTERM (pod deletion) stop the server with a fast shutdown
 * before exiting, so a deleted pod never leaves a crashed data directory behind.
 */
export function keepAliveScript(pgCtl: string): string {
  const ctl = `'${pgCtl.replace(/'/g, `'\\''`)}'`;
  return [
    `trap '${ctl.replace(/'/g, `'\\''`)} -D "$PGDATA" -m fast -w stop >/dev/null 2>&1; exit 0' TERM INT`,
    'while :; do sleep 3600 & wait $!; done',
  ].join('\n');
}

function podManifest(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  settings: SourcePodSettings,
  options: { claimName: string; pgdata: string; keep: boolean; pgCtl: string },
): V1Pod {
  const source = settings.container;
  // Only literal values: valueFrom names secrets and config maps of the source's namespace.
  const env: V1EnvVar[] = (source.env ?? []).filter((e) => e.value !== undefined && e.name !== 'PGDATA');
  env.push({ name: 'PGDATA', value: options.pgdata });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, annotations },
    spec: {
      restartPolicy: options.keep ? 'Always' : 'Never',
      terminationGracePeriodSeconds: 60,
      securityContext: settings.podSpec.securityContext,
      imagePullSecrets: namespace === settings.namespace ? settings.podSpec.imagePullSecrets : undefined,
      nodeSelector: settings.podSpec.nodeSelector,
      tolerations: settings.podSpec.tolerations,
      containers: [{
        name: source.name,
        image: source.image,
        imagePullPolicy: source.imagePullPolicy,
        command: ['sh', '-c', keepAliveScript(options.pgCtl)],
        env,
        resources: source.resources,
        securityContext: source.securityContext,
        ports: [{ name: 'postgresql', containerPort: settings.port, protocol: 'TCP' }],
        volumeMounts: [{ name: 'data', mountPath: settings.dataVolume.mountPath }],
      }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: options.claimName } }],
    },
  };
}

/**
 * The size a new restore claim asks for: the source claim's when it could be read; otherwise
 * twice the restored size (data, WAL staged for recovery, room to run), at least 1 GiB.
 */
export function restoreClaimRequest(settings: SourcePodSettings, bytes: number): string {
  return settings.storage?.request ?? `${Math.max(1, Math.ceil((bytes * 2) / 2 ** 30))}Gi`;
}

function claimManifest(name: string, namespace: string, labels: Record<string, string>, settings: SourcePodSettings, bytes: number): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: restoreClaimRequest(settings, bytes) } },
      ...(settings.storage?.storageClassName ? { storageClassName: settings.storage.storageClassName } : {}),
    },
  };
}

/** The claim's size and class, when we may read it (a restore works without). */
export async function readClaimStorage(api: KubeApi, settings: SourcePodSettings): Promise<SourcePodSettings['storage']> {
  if (!settings.dataVolume.claimName) return undefined;
  const claim = await api.readPersistentVolumeClaim(settings.namespace, settings.dataVolume.claimName).catch(() => undefined);
  return claim ? { request: claim.spec?.resources?.requests?.storage, storageClassName: claim.spec?.storageClassName } : undefined;
}

