import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BackupError } from '@llm-analytics/core';
import type { Role } from './types.js';

/**
 * Bearer tokens, each with a role: `read` (list, inspect, stats, metrics, jobs) or `operate`
 * (also start backups, verifications, restores, cancel jobs). From BACKUP_API_TOKENS
 * ("token:role,token:role") and/or a token file (one "token:role" a line, # comments).
 */
export function parseTokens(text: string, where: string): Map<string, Role> {
  const tokens = new Map<string, Role>();
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (!entry || entry.startsWith('#')) continue;
    const at = entry.lastIndexOf(':');
    const token = at > 0 ? entry.slice(0, at) : '';
    const role = entry.slice(at + 1);
    if (!token || (role !== 'read' && role !== 'operate')) {
      throw new BackupError('INVALID_ARGUMENT', `An entry in ${where} is not "token:read" or "token:operate".`, 'Write each token as TOKEN:ROLE with ROLE read or operate (the token itself is not shown here).');
    }
    if (token.length < 16) throw new BackupError('INVALID_ARGUMENT', `A token in ${where} is shorter than 16 characters.`, 'Use long random tokens, e.g. `openssl rand -hex 32`.');
    tokens.set(token, role);
  }
  return tokens;
}

export function loadTokens(env: Record<string, string | undefined>, tokenFile?: string): Map<string, Role> {
  const tokens = new Map<string, Role>();
  if (env.BACKUP_API_TOKENS) for (const [token, role] of parseTokens(env.BACKUP_API_TOKENS, 'BACKUP_API_TOKENS')) tokens.set(token, role);
  const file = tokenFile ?? env.BACKUP_API_TOKEN_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new BackupError('INVALID_ARGUMENT', `Cannot read the token file ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`, 'Check the path and its permissions.');
    }
    for (const [token, role] of parseTokens(text, file)) tokens.set(token, role);
  }
  return tokens;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * The role of a presented token, comparing in constant time against every configured token (the
 * digests have equal length, and the loop never stops early), so timing reveals nothing.
 */
export function roleOf(tokens: Map<string, Role>, presented: string): Role | undefined {
  const given = digest(presented);
  let found: Role | undefined;
  for (const [token, role] of tokens) {
    if (timingSafeEqual(digest(token), given) && found === undefined) found = role;
  }
  return found;
}
