import type { ExpirePlan } from '@llm-analytics/core';
import { formatSize, renderTable } from '../format.js';

export function renderExpire(plan: ExpirePlan, dryRun: boolean): string {
  const verb = dryRun ? 'Would delete' : 'Deleted';
  const lines = [`=== Expire${dryRun ? ' (dry run: nothing was changed)' : ''} ===`];
  lines.push(`${verb} ${plan.delete.length} backups and ${plan.deleteWal.length} WAL files (${formatSize(plan.freedBytes)})`);
  if (plan.delete.length) lines.push('', renderTable(['Backup', 'Status', 'Ended'], plan.delete.map((b) => [b.id, b.status, b.endTime ?? '-'])));
  if (plan.keep.length) lines.push('', 'Kept:', renderTable(['Backup', 'Why'], plan.keep.map((b) => [b.id, b.reason])));
  for (const [system, from] of Object.entries(plan.walKeptFrom)) lines.push(`WAL of cluster ${system}: ${from ? `kept from ${from}` : 'all kept'}`);
  return lines.join('\n');
}
