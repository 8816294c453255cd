import { WAL_PREFIX } from '../catalog/layout.js';
import type { PgConnection } from '../config/resolve.js';
import type { Host } from '../host/host.js';
import { isWalSegmentName } from '../postgres/lsn.js';
import { queryRow } from '../postgres/psql.js';
import type { Storage } from '../storage/storage.js';
import { listArchivedWal, walGaps } from './walChain.js';

export interface ClusterArchiveStatus {
  systemIdentifier: string;
  files: number;
  storedBytes: number;
  firstSegment?: string;
  lastSegment?: string;
  lastArchivedAt?: string;
  timelines: number[];
  /** Segments missing between the first and last archived one of a timeline. */
  gaps: string[];
}

/** PostgreSQL's own account (pg_stat_archiver), when a connection was given. */
export interface ArchiverStats {
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
}

export interface ArchiveStatus {
  clusters: ClusterArchiveStatus[];
  server?: ArchiverStats;
  serverError?: string;
}

export async function archiveStatus(storage: Storage, options: { connection?: PgConnection; host?: Host; binDir?: string } = {}): Promise<ArchiveStatus> {
  const systems = new Set<string>();
  for await (const object of storage.list(WAL_PREFIX)) {
    const system = object.key.slice(WAL_PREFIX.length).split('/')[0];
    if (system) systems.add(system);
  }
  const clusters: ClusterArchiveStatus[] = [];
  for (const systemIdentifier of systems) {
    const files = await listArchivedWal(storage, systemIdentifier);
    const segments = files.filter((f) => isWalSegmentName(f.fileName)).sort((a, b) => a.fileName.localeCompare(b.fileName));
    const newest = [...segments].sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0))[0];
    clusters.push({
      systemIdentifier,
      files: files.length,
      storedBytes: files.reduce((sum, f) => sum + f.size, 0),
      firstSegment: segments[0]?.fileName,
      lastSegment: segments[segments.length - 1]?.fileName,
      lastArchivedAt: newest?.lastModified?.toISOString(),
      timelines: [...new Set(segments.map((s) => Number.parseInt(s.fileName.slice(0, 8), 16)))],
      gaps: walGaps(files),
    });
  }
  const status: ArchiveStatus = { clusters };
  if (options.connection && options.host) {
    try {
      status.server = await queryRow<ArchiverStats>(
        options.host,
        options.connection,
        'postgres',
        `select archived_count as "archivedCount", last_archived_wal as "lastArchivedWal", last_archived_time as "lastArchivedTime",
                failed_count as "failedCount", last_failed_wal as "lastFailedWal", last_failed_time as "lastFailedTime" from pg_stat_archiver`,
        { binDir: options.binDir },
      );
    } catch (error) {
      status.serverError = error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
  }
  return status;
}
