export { KubernetesHost, DEFAULT_NAMESPACE, DEFAULT_POD, type KubernetesHostOptions } from './kubernetesHost.js';
export { RBAC_HINT } from './status.js';
