import type { BackupMetadata } from '@llm-analytics/core';
import type { NamespaceRestoreRequest, RestorableWindow, RestoreRequest } from './deps.js';
import { checkPitrTarget } from './pitr.js';

/** Where the wizard restores to: a data directory + port on the host, or a new pod in a Kubernetes namespace. */
export type RestoreTargetKind = 'directory' | 'namespace';

export interface RestoreForm {
  target: RestoreTargetKind;
  pgdata: string;
  /** The namespace target's namespace (created when absent). */
  namespace: string;
  /** The server's port; for the namespace target, the local port of the `kubectl port-forward` line. */
  port: string;
  database: string;
  pitr: string;
}

export const FIELDS = ['target', 'pgdata', 'namespace', 'port', 'database', 'pitr'] as const;
export type FieldName = (typeof FIELDS)[number];
export type TextFieldName = Exclude<FieldName, 'target'>;

/**
 * The rows of the form, top to bottom: the target choice only when a namespace can be chosen,
 * then the target's own field, port, database name, and the PITR time when a window can be read.
 */
export function formFields(form: RestoreForm, offer: { namespace: boolean; pitr: boolean }): FieldName[] {
  return [
    ...(offer.namespace ? (['target'] as const) : []),
    form.target === 'namespace' ? 'namespace' : 'pgdata',
    'port',
    'database',
    ...(offer.pitr ? (['pitr'] as const) : []),
  ];
}

/**
 * A Kubernetes namespace name is a DNS-1123 label: at most 63 lowercase letters, digits and '-',
 * starting and ending with a letter or digit (the API server refuses anything else).
 */
export function namespaceProblem(text: string): string | undefined {
  const name = text.trim();
  if (!name) return 'Type the target namespace (created when absent).';
  if (name.length > 63) return `At most 63 characters (this is ${name.length}).`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return 'Lowercase letters, digits and -, starting and ending with a letter or digit.';
  return undefined;
}

/** What is wrong with each field, checked as the user types; an empty object means ready to plan. */
export function formProblems(form: RestoreForm, window: RestorableWindow | null | undefined): Partial<Record<FieldName, string>> {
  const problems: Partial<Record<FieldName, string>> = {};
  if (form.target === 'namespace') {
    const namespace = namespaceProblem(form.namespace);
    if (namespace) problems.namespace = namespace;
  } else if (!form.pgdata.trim()) problems.pgdata = 'Type the target data directory (a new or empty directory).';
  else if (!form.pgdata.trim().startsWith('/')) problems.pgdata = 'Use an absolute path, e.g. /srv/pg/restored.';
  const port = Number(form.port);
  if (!/^\d+$/.test(form.port.trim()) || port < 1 || port > 65535) problems.port = 'A port number from 1 to 65535.';
  if (form.database.trim() && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(form.database.trim())) {
    problems.database = 'Letters, digits and _ only, starting with a letter or _ (at most 63).';
  }
  const pitr = checkPitrTarget(form.pitr, window);
  if (!pitr.ok) problems.pitr = pitr.reason;
  return problems;
}

/** The database name and PITR time of the form, as both targets' requests carry them. */
function common(form: RestoreForm, backup: BackupMetadata, window: RestorableWindow | null | undefined) {
  const database = form.database.trim();
  const pitr = checkPitrTarget(form.pitr, window);
  return {
    ...(database && database !== backup.database ? { targetDatabase: database } : {}),
    ...(pitr.ok && pitr.target ? { pitrTarget: pitr.target } : {}),
  };
}

export function restoreRequest(form: RestoreForm, backup: BackupMetadata, window: RestorableWindow | null | undefined): RestoreRequest {
  return { backupId: backup.id, pgdata: form.pgdata.trim(), port: Number(form.port), ...common(form, backup, window) };
}

export function namespaceRestoreRequest(form: RestoreForm, backup: BackupMetadata, window: RestorableWindow | null | undefined): NamespaceRestoreRequest {
  return { backupId: backup.id, namespace: form.namespace.trim(), localPort: Number(form.port), ...common(form, backup, window) };
}

/** The typed confirmation: the backup id, or the database name, exactly. */
export function confirmationMatches(typed: string, backup: BackupMetadata): boolean {
  const text = typed.trim();
  return text === backup.id || text === backup.database;
}
