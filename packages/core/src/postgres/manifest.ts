import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BackupError } from '../errors.js';

/**
 * backup_manifest: the JSON document pg_basebackup (PostgreSQL ≥ 13) writes next to the data —
 * injected into the tar stream when it writes to stdout. It lists every file with its size and
 * checksum and the WAL range the backup needs, and ends with a checksum of itself.
 */
const LsnField = z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/);

export const ManifestFile = z
  .object({
    /** Relative to the data directory; names that are not valid UTF-8 come hex-encoded instead. */
    Path: z.string().optional(),
    'Encoded-Path': z.string().regex(/^([0-9a-fA-F]{2})*$/).optional(),
    Size: z.number().int().nonnegative(),
    'Last-Modified': z.string(),
    /** Absent with --manifest-checksums=NONE. */
    'Checksum-Algorithm': z.string().optional(),
    Checksum: z.string().optional(),
  })
  .refine((file) => file.Path !== undefined || file['Encoded-Path'] !== undefined, 'a file entry has neither Path nor Encoded-Path');
export type ManifestFile = z.infer<typeof ManifestFile>;

export const ManifestWalRange = z.object({
  Timeline: z.number().int().positive(),
  'Start-LSN': LsnField,
  'End-LSN': LsnField,
});
export type ManifestWalRange = z.infer<typeof ManifestWalRange>;

export const BackupManifest = z.object({
  /** 1 since PostgreSQL 13; 2 since 17, which adds System-Identifier. */
  'PostgreSQL-Backup-Manifest-Version': z.number().int().min(1).max(2),
  /**
   * PostgreSQL 17+: the source's system identifier, as decimal text (it is a 64-bit number, more
   * than a JavaScript number holds, so it is read from the document's text, not from JSON.parse).
   */
  'System-Identifier': z.string().regex(/^\d+$/).optional(),
  Files: z.array(ManifestFile),
  'WAL-Ranges': z.array(ManifestWalRange).min(1),
  'Manifest-Checksum': z.string().regex(/^[0-9a-fA-F]{64}$/),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

export function parseManifest(text: string | Buffer): BackupManifest {
  const source = typeof text === 'string' ? text : text.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw invalid(`it is not JSON (${(error as Error).message})`);
  }
  if (json && typeof json === 'object' && 'System-Identifier' in json) {
    const exact = /"System-Identifier"\s*:\s*(\d+)/.exec(source);
    (json as Record<string, unknown>)['System-Identifier'] = exact?.[1];
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A file's path relative to the data directory, decoding Encoded-Path. */
export function manifestFilePath(file: ManifestFile): string {
  return file.Path ?? Buffer.from(file['Encoded-Path'] ?? '', 'hex').toString('utf8');
}

/** The WAL a backup needs, from its first range's start to its last range's end. */
export function manifestWalRange(manifest: BackupManifest): { timeline: number; startLsn: string; endLsn: string; startTimeline: number } {
  const ranges = manifest['WAL-Ranges'];
  // Ranges are listed newest timeline first (a backup from a standby can span a promotion), so
  // the backup starts in the last range and ends in the first.
  const newest = ranges[0]!;
  const oldest = ranges[ranges.length - 1]!;
  return { timeline: newest.Timeline, startTimeline: oldest.Timeline, startLsn: oldest['Start-LSN'], endLsn: newest['End-LSN'] };
}

/**
 * The SHA-256 PostgreSQL computes over a manifest (verify_manifest_checksum in
 * src/common/parse_manifest.c): every byte up to and including the newline that ends the
 * second-to-last line. The last line is the one with "Manifest-Checksum", and the document must
 * end with a newline.
 */
export function computeManifestChecksum(bytes: Buffer): string {
  const last = bytes.length - 1;
  if (last < 0 || bytes[last] !== 0x0a) throw invalid('its last line does not end with a newline');
  const penultimate = bytes.lastIndexOf(0x0a, last - 1);
  if (penultimate < 0) throw invalid('it has fewer than 2 lines');
  return createHash('sha256').update(bytes.subarray(0, penultimate + 1)).digest('hex');
}

/** Checks a manifest against its own Manifest-Checksum; CHECKSUM_MISMATCH when they differ. */
export function verifyManifestChecksum(text: string | Buffer): void {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const expected = parseManifest(bytes)['Manifest-Checksum'].toLowerCase();
  const actual = computeManifestChecksum(bytes);
  if (actual !== expected) {
    throw new BackupError(
      'CHECKSUM_MISMATCH',
      `The backup manifest's checksum does not match its content (expected ${expected}, computed ${actual}).`,
      'The manifest was altered or damaged; the backup cannot be trusted. Take a new backup.',
    );
  }
}

function invalid(reason: string): BackupError {
  return new BackupError('DATA_CORRUPT', `The backup manifest cannot be read: ${reason}.`, 'The backup is damaged or was not taken by pg_basebackup 13 or newer; take a new backup.');
}
