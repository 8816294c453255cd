import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { readTextFile } from '../host/hostFiles.js';

/**
 * Starts the restored server with pg_ctl and waits until it accepts connections: for a backup
 * taken with pg_basebackup that means recovery from backup_label has reached consistency.
 */
export async function startServer(host: Host, pgdata: string, port: number, options: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<void> {
  const logFile = `${pgdata}/restore-startup.log`;
  const result = await host.exec(
    [hostPgTool(host, 'pg_ctl'), '-D', pgdata, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', String(options.timeoutSeconds ?? 3600), 'start'],
    { signal: options.signal },
  );
  if (result.exitCode !== 0) {
    const log = await readTextFile(host, logFile).catch(() => '');
    const tail = log.trim().split('\n').slice(-5).join('\n');
    throw new BackupError('RECOVERY_FAILED', `The restored server in ${pgdata} did not start: ${result.stderr.trim() || result.stdout.trim()}\n${tail}`, `Read ${logFile} for the server's own account.`);
  }
}

export async function stopServer(host: Host, pgdata: string): Promise<void> {
  await host.exec([hostPgTool(host, 'pg_ctl'), '-D', pgdata, '-m', 'fast', '-w', 'stop']);
}

/** True when a postmaster runs on that data directory (pg_ctl status exits 0). */
export async function serverRunning(host: Host, pgdata: string): Promise<boolean> {
  const result = await host.exec([hostPgTool(host, 'pg_ctl'), '-D', pgdata, 'status']);
  return result.exitCode === 0;
}
