import type { RestorableWindow } from './deps.js';

export type PitrCheck = { ok: true; target?: string } | { ok: false; reason: string };

/**
 * Checks a point-in-time target typed in the wizard against the restorable window, as the user
 * types: empty means "end of the backup"; anything else must be a full timestamp inside the window.
 */
export function checkPitrTarget(text: string, window: RestorableWindow | null | undefined): PitrCheck {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true };
  if (!window) return { ok: false, reason: 'Point-in-time restore is not available for this backup (no archived WAL window).' };
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(trimmed)) {
    return { ok: false, reason: 'Type a time with its zone, e.g. 2026-11-25T12:30:00Z.' };
  }
  const time = new Date(trimmed.replace(' ', 'T'));
  if (Number.isNaN(time.getTime())) return { ok: false, reason: `${trimmed} is not a valid time.` };
  if (time < new Date(window.from)) return { ok: false, reason: `Before the restorable window (starts ${window.from}).` };
  if (time > new Date(window.to)) return { ok: false, reason: `After the restorable window (ends ${window.to}).` };
  return { ok: true, target: time.toISOString() };
}
