import type { Host } from './host.js';
import type { KubernetesHostOptions } from './kubernetes/index.js';

/**
 * A KubernetesHost, with @kubernetes/client-node and ws loaded only now: they take most of a
 * second to import, and commands on the local host (and wal-push, once per segment) never need them.
 */
export async function openKubernetesHost(options: KubernetesHostOptions): Promise<Host> {
  const { KubernetesHost } = await import('./kubernetes/index.js');
  return new KubernetesHost(options);
}
