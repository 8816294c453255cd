import { BackupError } from '../errors.js';

/**
 * LSNs and WAL file names, following PostgreSQL's own arithmetic (src/include/access/xlog_internal.h).
 *
 * An LSN is a 64-bit byte position in the WAL stream, written "%X/%X" (high and low 32 bits). The
 * stream is cut into segments of a fixed size (16 MiB unless initdb --wal-segsize said otherwise,
 * a power of two from 1 MiB to 1 GiB). A segment's file name is three 8-digit upper-case hex
 * numbers: timeline, then the segment number split into "log" (which 4 GiB of WAL) and "seg"
 * (which segment within those 4 GiB): XLogFileName() = %08X%08X%08X of tli, segno / segsPerId,
 * segno % segsPerId.
 */
export type Lsn = bigint;

export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const FOUR_GIB = 0x1_0000_0000n;

export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text.trim());
  if (!match) {
    throw new BackupError('INVALID_ARGUMENT', `"${text}" is not an LSN.`, 'An LSN looks like 16/B374D848 (two hex numbers separated by a slash).');
  }
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** PostgreSQL's text form: upper-case hex, no leading zeros ("%X/%X"). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn >= 1n << 64n) throw new BackupError('INVALID_ARGUMENT', `LSN ${lsn} is out of range.`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

export function isLsn(text: string): boolean {
  return LSN_TEXT.test(text.trim());
}

/** Negative, zero or positive, like a sort comparator. Accepts LSNs as text or numbers. */
export function compareLsn(a: Lsn | string, b: Lsn | string): number {
  const x = toLsn(a);
  const y = toLsn(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function toLsn(lsn: Lsn | string): Lsn {
  return typeof lsn === 'string' ? parseLsn(lsn) : lsn;
}

/** Segment sizes PostgreSQL accepts (IsValidWalSegSize): a power of two, 1 MiB to 1 GiB. */
export function assertWalSegmentSize(size: number): void {
  const valid = Number.isInteger(size) && size >= 1024 * 1024 && size <= 1024 * 1024 * 1024 && (size & (size - 1)) === 0;
  if (!valid) {
    throw new BackupError('INVALID_ARGUMENT', `${size} bytes is not a WAL segment size.`, 'WAL segments are a power of two between 1 MiB and 1 GiB (16 MiB by default).');
  }
}

function segmentsPerLogId(segmentSize: number): bigint {
  assertWalSegmentSize(segmentSize);
  return FOUR_GIB / BigInt(segmentSize);
}

/** The number of the segment holding the byte at `lsn` (XLByteToSeg). */
export function walSegmentNumber(lsn: Lsn | string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): bigint {
  assertWalSegmentSize(segmentSize);
  return toLsn(lsn) / BigInt(segmentSize);
}

/** The file name of segment number `segmentNumber` on a timeline (XLogFileName). */
export function walSegmentFileName(timeline: number, segmentNumber: bigint, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  assertTimeline(timeline);
  const perId = segmentsPerLogId(segmentSize);
  return hex8(BigInt(timeline)) + hex8(segmentNumber / perId) + hex8(segmentNumber % perId);
}

/** The name of the WAL segment file that holds the byte at `lsn` (where replay from `lsn` starts). */
export function walSegmentName(timeline: number, lsn: Lsn | string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  return walSegmentFileName(timeline, walSegmentNumber(lsn, segmentSize), segmentSize);
}

/** The same as walSegmentName, under the name the engines use when they start from an LSN. */
export const walSegmentForLsn = walSegmentName;

/**
 * The segment holding the byte just before `lsn` (XLByteToPrevSeg): the last segment needed to
 * replay up to an end position such as a backup's End-LSN. This is what SQL's pg_walfile_name()
 * returns; it differs from walSegmentName only when `lsn` is exactly on a segment boundary.
 */
export function lastWalSegmentBefore(timeline: number, lsn: Lsn | string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  const position = toLsn(lsn);
  if (position === 0n) throw new BackupError('INVALID_ARGUMENT', 'No WAL segment precedes LSN 0/0.');
  return walSegmentName(timeline, position - 1n, segmentSize);
}

export interface WalSegment {
  timeline: number;
  /** The "log" part: which 4 GiB of WAL. */
  log: number;
  /** The "seg" part: which segment within those 4 GiB. */
  seg: number;
  segmentNumber: bigint;
}

const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

export function parseWalSegmentName(name: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): WalSegment {
  const match = SEGMENT_NAME.exec(name);
  const perId = segmentsPerLogId(segmentSize);
  if (!match || BigInt(`0x${match[3]}`) >= perId) {
    throw new BackupError('INVALID_ARGUMENT', `"${name}" is not a WAL segment file name.`, 'WAL segment names are 24 upper-case hex digits, e.g. 000000010000000000000003.');
  }
  const timeline = Number.parseInt(match[1]!, 16);
  const log = Number.parseInt(match[2]!, 16);
  const seg = Number.parseInt(match[3]!, 16);
  assertTimeline(timeline);
  return { timeline, log, seg, segmentNumber: BigInt(log) * perId + BigInt(seg) };
}

/** The segment after `name` on the same timeline (the "seg" part carries into "log"). */
export function nextWalSegmentName(name: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  const { timeline, segmentNumber } = parseWalSegmentName(name, segmentSize);
  return walSegmentFileName(timeline, segmentNumber + 1n, segmentSize);
}

/** The LSN of a segment's first byte. */
export function walSegmentStartLsn(name: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): Lsn {
  return parseWalSegmentName(name, segmentSize).segmentNumber * BigInt(segmentSize);
}

// File names in pg_wal and the archive (IsXLogFileName, IsTLHistoryFileName, IsPartialXLogFileName,
// IsBackupHistoryFileName): all hex is upper case.

export function isWalSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}

/** "<timeline>.history": the history of how a timeline branched off its parent. */
export function isHistoryFileName(name: string): boolean {
  return /^[0-9A-F]{8}\.history$/.test(name);
}

/** "<segment>.partial": the last, incomplete segment of a timeline that a promotion ended. */
export function isPartialName(name: string): boolean {
  return /^[0-9A-F]{24}\.partial$/.test(name);
}

/** "<segment>.<start offset>.backup": the backup history file written when a backup ends. */
export function isBackupHistoryName(name: string): boolean {
  return /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/.test(name);
}

export function historyFileName(timeline: number): string {
  assertTimeline(timeline);
  return `${hex8(BigInt(timeline))}.history`;
}

function assertTimeline(timeline: number): void {
  if (!Number.isInteger(timeline) || timeline < 1 || timeline > 0xffff_ffff) {
    throw new BackupError('INVALID_ARGUMENT', `${timeline} is not a timeline id.`, 'Timelines are whole numbers from 1.');
  }
}

function hex8(value: bigint): string {
  return value.toString(16).toUpperCase().padStart(8, '0');
}
