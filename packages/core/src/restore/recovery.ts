import { BackupError } from '../errors.js';
import { isLsn } from '../postgres/lsn.js';

/** Where a point-in-time recovery stops. */
export type PitrTarget =
  | { kind: 'time'; time: Date }
  | { kind: 'lsn'; lsn: string }
  | { kind: 'xid'; xid: string }
  | { kind: 'name'; name: string };

export interface RecoverySettings {
  /** argv of `wal-fetch` without %f %p; joined as a shell line by PostgreSQL. */
  walFetchCommand?: readonly string[];
  /** Or a whole restore_command (the staged-WAL `cp`, for servers in a pod). */
  restoreCommand?: string;
  target?: PitrTarget;
  /** Stop just after (true, PostgreSQL's default) or just before the target. */
  inclusive: boolean;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Accepts RFC 3339 only ("2026-11-24T10:33:12.345Z", "…+02:00"): a zone is required. */
export function parsePitrTime(text: string): Date {
  const match = RFC3339.exec(text.trim());
  const time = match ? new Date(text.trim().replace(' ', 'T')) : undefined;
  if (!match || !time || Number.isNaN(time.getTime()) || Number(match[2]) > 12 || Number(match[3]) > 31) {
    throw new BackupError('INVALID_TIMESTAMP', `"${text}" is not an RFC 3339 timestamp.`, 'Write it like 2026-11-24T10:33:12Z or 2026-11-24T12:33:12.5+02:00 (a time zone is required).');
  }
  return time;
}

export function pitrTargetFrom(input: { time?: string; lsn?: string; xid?: string; name?: string }): PitrTarget | undefined {
  const given = [input.time, input.lsn, input.xid, input.name].filter((v) => v !== undefined);
  if (given.length > 1) throw new BackupError('INVALID_ARGUMENT', 'More than one recovery target given.', 'Pass one of --pitr-target, --pitr-lsn, --pitr-xid, --pitr-name.');
  if (input.time !== undefined) return { kind: 'time', time: parsePitrTime(input.time) };
  if (input.lsn !== undefined) {
    if (!isLsn(input.lsn)) throw new BackupError('INVALID_ARGUMENT', `"${input.lsn}" is not an LSN.`, 'An LSN looks like 0/3000028.');
    return { kind: 'lsn', lsn: input.lsn.toUpperCase() };
  }
  if (input.xid !== undefined) {
    if (!/^\d+$/.test(input.xid)) throw new BackupError('INVALID_ARGUMENT', `"${input.xid}" is not a transaction id.`, 'A transaction id is a whole number (txid_current()).');
    return { kind: 'xid', xid: input.xid };
  }
  if (input.name !== undefined) {
    if (!input.name || input.name.length > 63) throw new BackupError('INVALID_ARGUMENT', 'A restore point name is 1 to 63 characters.', 'Use the name given to pg_create_restore_point().');
    return { kind: 'name', name: input.name };
  }
  return undefined;
}

/**
 * PostgreSQL 15 refuses "T…Z" in recovery_target_time at startup; it takes its own timestamptz
 * text. UTC with milliseconds keeps the exact instant.
 */
export function formatRecoveryTime(time: Date): string {
  return `${time.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

export function describeTarget(target: PitrTarget): string {
  switch (target.kind) {
    case 'time':
      return `time ${target.time.toISOString()}`;
    case 'lsn':
      return `LSN ${target.lsn}`;
    case 'xid':
      return `transaction ${target.xid}`;
    case 'name':
      return `restore point "${target.name}"`;
  }
}

/**
 * The recovery settings appended to postgresql.auto.conf (PostgreSQL ≥ 12; recovery.signal is
 * created beside it). Secrets are never written: wal-fetch reads the passphrase from the server's
 * environment or a key file. The timeline is the backup's own ('current'): 'latest' would follow
 * a timeline a previous restore created from the same archive and replay someone else's history.
 */
export function recoveryConfText(settings: RecoverySettings): string {
  const walFetch = (settings.walFetchCommand ?? []).map(shellQuote).join(' ');
  const command = settings.restoreCommand ?? `${walFetch} %f %p`;
  const lines = ['# recovery settings added by llm-analytics restore; removed once the server is promoted', `restore_command = ${confQuote(command)}`];
  // wal-fetch prefetches the next segments into pg_wal/.llm-analytics-prefetch (on by default):
  // when recovery ends, the spool is removed and its background prefetcher stops.
  if (!settings.restoreCommand) lines.push(`recovery_end_command = ${confQuote(`${walFetch} --clear-spool`)}`);
  lines.push("recovery_target_timeline = 'current'");
  const target = settings.target;
  if (target) {
    if (target.kind === 'time') lines.push(`recovery_target_time = ${confQuote(formatRecoveryTime(target.time))}`);
    if (target.kind === 'lsn') lines.push(`recovery_target_lsn = ${confQuote(target.lsn)}`);
    if (target.kind === 'xid') lines.push(`recovery_target_xid = ${confQuote(target.xid)}`);
    if (target.kind === 'name') lines.push(`recovery_target_name = ${confQuote(target.name)}`);
    lines.push(`recovery_target_inclusive = ${settings.inclusive ? 'on' : 'off'}`, "recovery_target_action = 'promote'");
  }
  return `${lines.join('\n')}\n`;
}

/**
 * postgresql.auto.conf without the recovery settings a restore appended (`block`, exactly as
 * recoveryConfText wrote it; its last occurrence), or undefined when the file no longer holds it
 * (edited meanwhile: nothing is removed then). Once the server is promoted they are dead weight at
 * best: PostgreSQL ignores restore_command outside recovery, but a later recovery of this copy (a
 * standby.signal, a recovery.signal) would use them — the staged WAL's `cp` from a directory that
 * is gone, or wal-fetch from the source's archive, and the old recovery_target_* would stop it.
 */
export function withoutRecoverySettings(conf: string, block: string): string | undefined {
  const at = conf.lastIndexOf(block);
  if (at < 0 || block === '') return undefined;
  return conf.slice(0, at) + conf.slice(at + block.length);
}

/** postgresql.conf quoting: backslash escapes, '' is a quote. */
function confQuote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** restore_command runs through /bin/sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
