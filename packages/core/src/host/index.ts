export type { ExecOptions, ExecResult, ExecStream, Host } from './host.js';
export { LocalHost, type LocalHostOptions } from './local.js';
export { execChecked } from './execChecked.js';
export { formatCommandLine } from './commandLine.js';
export { hostPgTool, installedPgBinDirs, pgTool, type PgToolOptions } from './pgBinaries.js';
export { currentOsUser, lookupOsUser, runsAsRoot, type OsUser } from './osUser.js';
export { KubernetesHost, DEFAULT_NAMESPACE, DEFAULT_POD, RBAC_HINT, type KubernetesHostOptions } from './kubernetes/index.js';
