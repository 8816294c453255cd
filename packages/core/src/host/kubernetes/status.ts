import { BackupError } from '../../errors.js';

/** The API's `Status` object: every error response body, and the exec error channel. */
export interface KubeStatus {
  kind?: 'Status';
  apiVersion?: 'v1';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** The minimal Role, printed wherever a permission is missing (also in docs/ARCHITECTURE.md). */
export const RBAC_HINT =
  'Grant the backup identity a Role in the namespace with: pods (get, list), pods/exec (create; get for older API servers)' +
  ' — for in-place restores also pods (create, delete), persistentvolumeclaims (get), statefulsets (get), statefulsets/scale (get, patch);' +
  ' for --target-namespace/--test-namespace pods (get, create, delete), pods/exec (create), persistentvolumeclaims (get, create, delete) there' +
  ' and a ClusterRole with namespaces (get, create, delete) — see "Kubernetes" in docs/ARCHITECTURE.md.';

/** A clear error for a failed API call, from its HTTP status and `Status` body. */
export function apiStatusError(httpStatus: number, body: string, action: string): BackupError {
  let status: KubeStatus = {};
  try {
    status = JSON.parse(body) as KubeStatus;
  } catch {
    // Not every proxy in front of an API server answers with a Status.
  }
  const said = status.message ? `: ${status.message}` : body ? `: ${body.slice(0, 300)}` : '';
  if (httpStatus === 401) {
    return new BackupError('KUBERNETES_AUTH_FAILED', `The Kubernetes API server refused our credentials (401 Unauthorized) to ${action}${said}.`, 'The token or client certificate of the kubeconfig is wrong or expired: refresh it (e.g. log in again) or pick another --context.');
  }
  if (httpStatus === 403) {
    return new BackupError('KUBERNETES_FORBIDDEN', `Not allowed to ${action} (403 Forbidden)${said}.`, RBAC_HINT);
  }
  if (httpStatus === 404) {
    return new BackupError('POD_NOT_FOUND', `Not found while trying to ${action} (404)${said}.`, 'Check the namespace (-n) and the pod name (--pod), e.g. with `kubectl get pods -n NAMESPACE`.');
  }
  if (httpStatus === 409) {
    return new BackupError('TARGET_IN_USE', `Could not ${action}: it already exists (409)${said}.`, 'Pick another name, or delete the leftover with kubectl delete.');
  }
  if (httpStatus === 422 || httpStatus === 400) {
    return new BackupError('INVALID_ARGUMENT', `The Kubernetes API server refused to ${action} (HTTP ${httpStatus})${said}.`, 'Check the names and settings given (namespace names are lowercase RFC 1123 labels).');
  }
  return new BackupError('KUBERNETES_UNREACHABLE', `The Kubernetes API server failed to ${action} (HTTP ${httpStatus})${said}.`, 'Retry; if it persists check the API server\'s health.');
}
