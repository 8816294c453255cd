import { execChecked } from '../host/execChecked.js';
import type { Host } from '../host/host.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { appendToFile } from '../host/hostFiles.js';

/**
 * A restored server keeps the source's unix_socket_directories. When one of them is not writable
 * by the user the server runs as (Debian's /var/run/postgresql for a normal user, a directory of
 * another machine), PostgreSQL refuses to start. Then the socket goes into the data directory
 * itself; TCP is unchanged. Returns a message for the restore's list when it changed anything.
 */
export async function ensureUsableSocketDirectories(host: Host, pgdata: string, restoreId: string): Promise<string | undefined> {
  // `postgres -C` prints the effective setting from the data directory's configuration files.
  const setting = (await execChecked(host, [hostPgTool(host, 'postgres'), '-C', 'unix_socket_directories', '-D', pgdata])).stdout.trim();
  const directories = setting.split(',').map((dir) => dir.trim()).filter((dir) => dir !== '' && !dir.startsWith('@'));
  if (directories.length === 0) return undefined;
  const writable = await host.exec(['sh', '-c', 'for d; do [ -d "$d" ] && [ -w "$d" ] || exit 1; done', 'sh', ...directories]);
  if (writable.exitCode === 0) return undefined;
  await appendToFile(host, `${pgdata}/postgresql.auto.conf`, `# added by llm-analytics restore of ${restoreId}: ${setting} is not writable here\nunix_socket_directories = '${pgdata.replace(/'/g, "''")}'\n`);
  return `Socket directory ${setting} is not writable by the server's user: the restored server's socket is in ${pgdata}`;
}
