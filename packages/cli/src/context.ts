import { LocalHost, openKubernetesHost, openStorage, resolveConfig, type ConfigInput, type Host, type KubernetesHostOptions, type ResolvedConfig } from '@llm-analytics/core';

/**
 * Everything a command needs from core, built from its flags once. With Kubernetes options
 * (-n, --pod, ...) PostgreSQL is in a pod and commands run there through the exec API; without,
 * on this machine.
 */
export async function commandContext(input: ConfigInput, kubernetes?: KubernetesHostOptions) {
  const config: ResolvedConfig = resolveConfig(input);
  const storage = openStorage(config.repository);
  const host: Host = kubernetes ? await openKubernetesHost({ ...kubernetes, pgBinDir: config.pgBinDir, extraCaCertsFile: config.extraCaCertsFile }) : new LocalHost({ pgBinDir: config.pgBinDir });
  return { config, storage, host };
}
