import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Host } from './host.js';

export interface PgToolOptions {
  /** Explicit directory of PostgreSQL programs (what PG_BIN_DIR configures): always wins. */
  binDir?: string;
  /**
   * Prefer this major version's programs. Server-side programs (postgres, initdb, pg_ctl,
   * pg_resetwal) must match the data directory's major version; client programs such as psql and
   * pg_basebackup work with older servers, so the newest is the right default for them.
   */
  majorVersion?: number;
}

/**
 * Where distributions install PostgreSQL side by side, one directory per major version:
 * Debian/Ubuntu `/usr/lib/postgresql/<N>/bin`, RHEL/Fedora (PGDG) `/usr/pgsql-<N>/bin`.
 */
const VERSIONED_LAYOUTS: { parent: string; pattern: RegExp; bin: (entry: string) => string }[] = [
  { parent: '/usr/lib/postgresql', pattern: /^(\d+)$/, bin: (entry) => join('/usr/lib/postgresql', entry, 'bin') },
  { parent: '/usr', pattern: /^pgsql-(\d+)$/, bin: (entry) => join('/usr', entry, 'bin') },
];

/** Installed PostgreSQL bin directories on this machine, newest major version first. */
export function installedPgBinDirs(): { majorVersion: number; binDir: string }[] {
  const found: { majorVersion: number; binDir: string }[] = [];
  for (const layout of VERSIONED_LAYOUTS) {
    let entries: string[];
    try {
      entries = readdirSync(layout.parent);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const match = layout.pattern.exec(entry);
      if (match) found.push({ majorVersion: Number(match[1]), binDir: layout.bin(entry) });
    }
  }
  return found.sort((a, b) => b.majorVersion - a.majorVersion);
}

/**
 * The program to run for a PostgreSQL tool: an absolute path when it can be located (explicit
 * bin directory; else the requested or newest versioned installation that has it), else the bare
 * name, which spawn finds on PATH. Distributions' PATH entries are often wrappers (Debian's
 * pg_wrapper) that pick a version by cluster, which is why versioned directories come first.
 */
export function pgTool(name: string, options: PgToolOptions = {}): string {
  if (options.binDir) return join(resolve(options.binDir), name);
  const dirs = installedPgBinDirs();
  const preferred = options.majorVersion === undefined ? [] : dirs.filter((dir) => dir.majorVersion === options.majorVersion);
  for (const dir of [...preferred, ...dirs]) {
    const candidate = join(dir.binDir, name);
    if (existsSync(candidate)) return candidate;
  }
  return name;
}

/** The path of a PostgreSQL program on a host: what the host knows, else the bare name (PATH). */
export function hostPgTool(host: Host, name: string): string {
  return host.pgTool?.(name) ?? name;
}
