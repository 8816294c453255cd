import type { BackupMetadata } from '@llm-analytics/core';
import type { RestorableWindow, RestoreRequest } from './deps.js';
import { checkPitrTarget } from './pitr.js';

export interface RestoreForm {
  pgdata: string;
  port: string;
  database: string;
  pitr: string;
}

export const FIELDS = ['pgdata', 'port', 'database', 'pitr'] as const;
export type FieldName = (typeof FIELDS)[number];

/** What is wrong with each field, checked as the user types; an empty object means ready to plan. */
export function formProblems(form: RestoreForm, window: RestorableWindow | null | undefined): Partial<Record<FieldName, string>> {
  const problems: Partial<Record<FieldName, string>> = {};
  if (!form.pgdata.trim()) problems.pgdata = 'Type the target data directory (a new or empty directory).';
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

export function restoreRequest(form: RestoreForm, backup: BackupMetadata, window: RestorableWindow | null | undefined): RestoreRequest {
  const database = form.database.trim();
  const pitr = checkPitrTarget(form.pitr, window);
  return {
    backupId: backup.id,
    pgdata: form.pgdata.trim(),
    port: Number(form.port),
    ...(database && database !== backup.database ? { targetDatabase: database } : {}),
    ...(pitr.ok && pitr.target ? { pitrTarget: pitr.target } : {}),
  };
}

/** The typed confirmation: the backup id, or the database name, exactly. */
export function confirmationMatches(typed: string, backup: BackupMetadata): boolean {
  const text = typed.trim();
  return text === backup.id || text === backup.database;
}
