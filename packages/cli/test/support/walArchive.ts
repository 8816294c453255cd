import type { Cluster } from '../../../core/test-support/pgCluster.js';
import type { TestBucket } from '../../../core/test-support/s3Server.js';
import { CLI } from './runCli.js';

/** Environment for the CLI on a prefix of the test bucket, with an encryption passphrase. */
export function s3RepoEnv(bucket: TestBucket, prefix: string, passphrase: string): Record<string, string> {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION } = bucket.env;
  return {
    BACKUP_REPO: `s3://${bucket.bucket}/${prefix}`,
    AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!,
    AWS_ENDPOINT_URL: AWS_ENDPOINT_URL!,
    AWS_REGION: AWS_REGION!,
    BACKUP_ENCRYPTION_PASSPHRASE: passphrase,
  };
}

/**
 * archive_command calling the real CLI, configured by environment variables in the command line
 * (a test cluster's configuration may hold the test bucket's keys; a real one would use the
 * server's environment or --encryption-key-file).
 */
export function walPushCommand(env: Record<string, string>): string {
  const assignments = Object.entries(env).map(([name, value]) => `${name}='${value.replace(/'/g, `'\\''`)}'`);
  return `env ${assignments.join(' ')} ${CLI} database wal-push %p`;
}

/** Closes the current segment and waits until PostgreSQL reports it archived. */
export async function switchAndWaitArchived(cluster: Cluster, timeoutMs = 120_000): Promise<string> {
  const segment = (await cluster.psql('select pg_walfile_name(pg_switch_wal())')).trim();
  await waitArchived(cluster, segment, timeoutMs);
  return segment;
}

export async function waitArchived(cluster: Cluster, segment: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = (await cluster.psql('select coalesce(last_archived_wal, \'\') from pg_stat_archiver')).trim();
    if (last >= segment && last.length === 24) return;
    if (Date.now() > deadline) throw new Error(`segment ${segment} not archived within ${timeoutMs} ms (last archived: ${last})\n${(await cluster.serverLog()).slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
