import type { ArchiveStatus } from '@llm-analytics/core';
import { formatSize, renderProperties } from '../format.js';

export function renderArchiveStatus(status: ArchiveStatus): string {
  const lines = ['=== WAL Archive ==='];
  if (status.clusters.length === 0) lines.push('No archived WAL in this repository.');
  for (const c of status.clusters) {
    lines.push(
      '',
      renderProperties([
        ['Cluster (system id)', c.systemIdentifier],
        ['Files', `${c.files} (${formatSize(c.storedBytes)})`],
        ['Segments', `${c.firstSegment ?? '-'} … ${c.lastSegment ?? '-'}`],
        ['Last Archived', c.lastArchivedAt ?? '-'],
        ['Timelines', c.timelines.join(', ') || '-'],
        ['Gaps', c.gaps.length ? `${c.gaps.length} missing: ${c.gaps.slice(0, 5).join(', ')}${c.gaps.length > 5 ? ' …' : ''}` : 'none'],
      ]),
    );
  }
  if (status.server) {
    const s = status.server;
    lines.push('', 'Server archiver (pg_stat_archiver):', renderProperties([
      ['Archived', `${s.archivedCount}, last ${s.lastArchivedWal ?? '-'} at ${s.lastArchivedTime ?? '-'}`],
      ['Failed', `${s.failedCount}${s.lastFailedWal ? `, last ${s.lastFailedWal} at ${s.lastFailedTime}` : ''}`],
    ]));
  } else if (status.serverError) lines.push('', `Server not reachable: ${status.serverError}`);
  return lines.join('\n');
}
