import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { BackupError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { lockKey } from './layout.js';

/**
 * The repository lock: one backup of a database at a time, whoever runs it (the CLI from cron,
 * the API, another machine). The lock is the object `locks/<database>.json`, created with
 * putIfAbsent, so two writers cannot both create it. It carries an expiry that a heartbeat pushes
 * forward while the backup runs: a holder that died (kill -9, lost machine) leaves a lock that
 * expires and is then taken over.
 *
 * Takeover of an expired lock must not let two contenders both win, and must never delete a
 * fresh lock: a contender first creates `locks/<database>.takeover-<token of the stale lock>`
 * with putIfAbsent (only one wins per stale lock), re-reads the lock to check it is still that
 * stale one, deletes it and creates its own with putIfAbsent again.
 */
export const BackupLockOwner = z.object({
  /** What holds it: "cli" or "api". */
  tool: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  /** The API job running the backup, when the API holds the lock. */
  jobId: z.string().optional(),
});
export type BackupLockOwner = z.infer<typeof BackupLockOwner>;

export const BackupLockRecord = z.object({
  database: z.string(),
  token: z.string(),
  owner: BackupLockOwner,
  acquiredAt: z.string(),
  expiresAt: z.string(),
});
export type BackupLockRecord = z.infer<typeof BackupLockRecord>;

export interface AcquireLockOptions {
  owner?: Partial<BackupLockOwner>;
  /** How long the lock lives without a heartbeat. Default 5 minutes. */
  ttlMs?: number;
  now?: () => Date;
}

export interface BackupLock {
  readonly record: BackupLockRecord;
  /** Deletes the lock if it is still ours; stops the heartbeat. Never throws. */
  release(): Promise<void>;
}

const DEFAULT_TTL_MS = 5 * 60_000;

export function describeLockHolder(record: BackupLockRecord): string {
  const { owner } = record;
  const who = owner.jobId ? `API job ${owner.jobId}` : `${owner.tool} process ${owner.pid}`;
  return `${who} on ${owner.hostname}, since ${record.acquiredAt}`;
}

/** The current lock of a database, or undefined when there is none (expired ones included). */
export async function readBackupLock(storage: Storage, database: string): Promise<BackupLockRecord | undefined> {
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(lockKey(database))) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof BackupError && error.code === 'OBJECT_NOT_FOUND') return undefined;
    throw error;
  }
  const parsed = BackupLockRecord.safeParse(safeJson(text));
  // A damaged lock object is treated as expired: otherwise it would block backups forever.
  return parsed.success ? parsed.data : { database, token: 'damaged', owner: { tool: 'unknown', hostname: 'unknown', pid: 0 }, acquiredAt: new Date(0).toISOString(), expiresAt: new Date(0).toISOString() };
}

export function lockIsExpired(record: BackupLockRecord, now: Date): boolean {
  return new Date(record.expiresAt).getTime() <= now.getTime();
}

export async function acquireBackupLock(storage: Storage, database: string, options: AcquireLockOptions = {}): Promise<BackupLock> {
  const now = options.now ?? (() => new Date());
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const token = randomBytes(8).toString('hex');
  const owner: BackupLockOwner = { tool: 'cli', hostname: hostname(), pid: process.pid, ...options.owner };
  const recordAt = (at: Date): BackupLockRecord => ({
    database,
    token,
    owner,
    acquiredAt: at.toISOString(),
    expiresAt: new Date(at.getTime() + ttlMs).toISOString(),
  });
  const key = lockKey(database);
  let record = recordAt(now());

  if (!(await storage.putIfAbsent(key, lockBytes(record)))) {
    const current = await readBackupLock(storage, database);
    if (current && !lockIsExpired(current, now())) throw lockHeld(current);
    if (current) await takeOver(storage, database, current);
    record = recordAt(now());
    const created = await storage.putIfAbsent(key, lockBytes(record));
    if (!created) {
      const winner = await readBackupLock(storage, database);
      throw winner ? lockHeld(winner) : new BackupError('BACKUP_IN_PROGRESS', `Another backup of "${database}" took the repository lock at the same moment.`, 'Try again in a moment.');
    }
  }

  let released = false;
  const heartbeat = setInterval(() => {
    record = { ...record, expiresAt: new Date(now().getTime() + ttlMs).toISOString() };
    storage.put(key, lockBytes(record)).catch(() => {});
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  heartbeat.unref();

  return {
    get record() {
      return record;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      try {
        const current = await readBackupLock(storage, database);
        if (current?.token === token) await storage.delete([key]);
      } catch {
        // The lock expires on its own; a failed release must not turn a good backup into an error.
      }
    },
  };
}

async function takeOver(storage: Storage, database: string, stale: BackupLockRecord): Promise<void> {
  const marker = `locks/${database}.takeover-${stale.token.replace(/[^a-z0-9]/gi, '') || 'x'}`;
  if (!(await storage.putIfAbsent(marker, Buffer.from(`${process.pid}\n`)))) {
    throw new BackupError('BACKUP_IN_PROGRESS', `Another process is taking over the expired backup lock of "${database}".`, 'Try again in a moment.');
  }
  try {
    const current = await readBackupLock(storage, database);
    if (current && current.token !== stale.token) {
      if (!lockIsExpired(current, new Date())) throw lockHeld(current);
      return;
    }
    await storage.delete([lockKey(database)]);
  } finally {
    await storage.delete([marker]).catch(() => {});
  }
}

function lockHeld(record: BackupLockRecord): BackupError {
  return new BackupError(
    'BACKUP_IN_PROGRESS',
    `A backup of database "${record.database}" is already running: ${describeLockHolder(record)} (lock expires ${record.expiresAt}).`,
    'Wait for it to finish (or cancel it); a lock left by a crashed process is taken over once it expires.',
  );
}

function lockBytes(record: BackupLockRecord): Buffer {
  return Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
