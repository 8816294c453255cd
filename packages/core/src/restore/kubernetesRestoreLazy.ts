import type * as KubernetesRestore from './kubernetesRestore.js';

export type { InPlaceRestoreResult, KubernetesRestoreOptions, NamespaceRestoreOptions, NamespaceRestorePlan, NamespaceRestoreResult } from './kubernetesRestore.js';

/*
 * The Kubernetes restores, with @kubernetes/client-node loaded only when one runs (it takes most
 * of a second to import; see openKubernetesHost).
 */

/** `restore --target-namespace NS`: a new pod (and claim) in NS from the database pod's image; see kubernetesRestore.ts. */
export async function restoreToNamespace(...args: Parameters<typeof KubernetesRestore.restoreToNamespace>): ReturnType<typeof KubernetesRestore.restoreToNamespace> {
  return (await import('./kubernetesRestore.js')).restoreToNamespace(...args);
}

/** The dry run of restoreToNamespace (what it would create, permissions checked); creates nothing. */
export async function planRestoreToNamespace(...args: Parameters<typeof KubernetesRestore.planRestoreToNamespace>): ReturnType<typeof KubernetesRestore.planRestoreToNamespace> {
  return (await import('./kubernetesRestore.js')).planRestoreToNamespace(...args);
}

/** Restore into the database pod's own data directory (StatefulSet scaled down + helper pod, or pg_ctl). */
export async function restoreInPlace(...args: Parameters<typeof KubernetesRestore.restoreInPlace>): ReturnType<typeof KubernetesRestore.restoreInPlace> {
  return (await import('./kubernetesRestore.js')).restoreInPlace(...args);
}

/** Whether `pgdata` is the data directory of the server the pod runs (an in-place restore). */
export async function isServerDataDirectory(...args: Parameters<typeof KubernetesRestore.isServerDataDirectory>): ReturnType<typeof KubernetesRestore.isServerDataDirectory> {
  return (await import('./kubernetesRestore.js')).isServerDataDirectory(...args);
}

export type { KubernetesRestorePlan, KubernetesRestoreMode } from './kubernetesPlan.js';

/** The dry run of restoreToNamespace or restoreInPlace in the local plan's shape, with the steps; see kubernetesPlan.ts. */
export async function planPodRestore(...args: Parameters<typeof import('./kubernetesPlan.js').planPodRestore>): ReturnType<typeof import('./kubernetesPlan.js').planPodRestore> {
  return (await import('./kubernetesPlan.js')).planPodRestore(...args);
}

/** Refuses `restore --no-start` in Kubernetes, naming the flag and why (see kubernetesPlan.ts). */
export async function assertPodRestoreStarts(...args: Parameters<typeof import('./kubernetesPlan.js').assertPodRestoreStarts>): Promise<void> {
  (await import('./kubernetesPlan.js')).assertPodRestoreStarts(...args);
}
