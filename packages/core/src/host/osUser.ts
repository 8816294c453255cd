import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { BackupError } from '../errors.js';

/** An operating-system account commands can run as. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The account this process runs as. */
export function currentOsUser(): OsUser {
  try {
    const info = userInfo();
    return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
  } catch {
    // A uid without a passwd entry (containers run with an arbitrary uid, as OpenShift does).
    const uid = process.getuid?.() ?? -1;
    return { name: String(uid), uid, gid: process.getgid?.() ?? -1, home: homedir() };
  }
}

export function runsAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Looks an account up by name: /etc/passwd first (always there, no process to start), then
 * `getent passwd`, which also asks NSS sources such as LDAP.
 */
export function lookupOsUser(name: string): OsUser {
  const found = findInPasswd(readPasswdFile(), name) ?? findInPasswd(getentPasswd(name), name);
  if (!found) {
    throw new BackupError(
      'HOST_COMMAND_FAILED',
      `Operating-system user "${name}" does not exist on this machine.`,
      'Run as the user that owns the PostgreSQL data directory, or name it with the OS user option.',
    );
  }
  return found;
}

function readPasswdFile(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

function getentPasswd(name: string): string {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : '';
}

function findInPasswd(text: string, name: string): OsUser | undefined {
  for (const line of text.split('\n')) {
    // name:password:uid:gid:gecos:home:shell
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 7) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    return { name, uid, gid, home: fields[5] || '/' };
  }
  return undefined;
}
