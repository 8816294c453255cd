export type { ExecInto, ExecOptions, ExecResult, ExecStream, Host } from './host.js';
export { LocalHost, type LocalHostOptions } from './local.js';
export { execChecked } from './execChecked.js';
export { formatCommandLine } from './commandLine.js';
export { hostPgTool, installedPgBinDirs, pgTool, type PgToolOptions } from './pgBinaries.js';
export { currentOsUser, lookupOsUser, runsAsRoot, type OsUser } from './osUser.js';
// Types only: the Kubernetes client is loaded when a pod is first used (openKubernetesHost).
export type { KubernetesHost, KubernetesHostOptions } from './kubernetes/index.js';
export { openKubernetesHost } from './openKubernetesHost.js';
