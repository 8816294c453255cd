import { describe, expect, test } from 'vitest';
import {
  compareLsn,
  formatLsn,
  historyFileName,
  isBackupHistoryName,
  isHistoryFileName,
  isPartialName,
  isWalSegmentName,
  lastWalSegmentBefore,
  nextWalSegmentName,
  parseLsn,
  parseWalSegmentName,
  walSegmentForLsn,
  walSegmentName,
  walSegmentNumber,
  walSegmentStartLsn,
} from '../../../src/postgres/lsn.js';

/**
 * Answers of PostgreSQL 15 itself on timeline 1 with 16 MiB segments:
 *   select l, pg_walfile_name(l::pg_lsn), l::pg_lsn - '0/0' from unnest(array[...]) l
 * pg_walfile_name names the segment holding the byte *before* the LSN (XLByteToPrevSeg).
 */
const POSTGRES_ANSWERS: [lsn: string, walfileName: string, bytes: bigint][] = [
  ['0/1', '000000010000000000000000', 1n],
  ['0/1000000', '000000010000000000000000', 16777216n],
  ['0/1000001', '000000010000000000000001', 16777217n],
  ['0/FFFFFFF', '00000001000000000000000F', 268435455n],
  ['1/0', '0000000100000000000000FF', 4294967296n],
  ['16/B374D848', '0000000100000016000000B3', 97500059720n],
  ['FFFFFFFF/FFFFFFFF', '00000001FFFFFFFF000000FF', 18446744073709551615n],
  ['0/FFFFFFFF', '0000000100000000000000FF', 4294967295n],
  ['A/3000028', '000000010000000A00000003', 43000004648n],
];

describe('LSN text', () => {
  test.each(POSTGRES_ANSWERS)('%s is byte position %s of the WAL stream, as pg_lsn - 0/0 says', (text, _name, bytes) => {
    expect(parseLsn(text)).toBe(bytes);
    expect(formatLsn(bytes)).toBe(text);
  });

  test('formats like PostgreSQL: upper-case hex without leading zeros', () => {
    expect(formatLsn(parseLsn('0000000a/00b374d8'))).toBe('A/B374D8');
  });

  test('rejects text that is not an LSN with INVALID_ARGUMENT', () => {
    for (const bad of ['', '16', '16/', '/1', '1/2/3', 'G/0', '123456789/0']) {
      expect(() => parseLsn(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  test('compares numerically, not as text', () => {
    expect(compareLsn('0/9', '0/10')).toBeLessThan(0);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBeGreaterThan(0);
    expect(compareLsn('16/B374D848', parseLsn('16/B374D848'))).toBe(0);
  });
});

describe('WAL segment names', () => {
  test.each(POSTGRES_ANSWERS)('the last segment needed up to %s is pg_walfile_name()\'s %s', (lsn, name) => {
    expect(lastWalSegmentBefore(1, lsn)).toBe(name);
  });

  test('the segment holding an LSN differs from pg_walfile_name only on a segment boundary', () => {
    expect(walSegmentName(1, '0/1000000')).toBe('000000010000000000000001');
    expect(walSegmentName(1, '1/0')).toBe('000000010000000100000000');
    expect(walSegmentName(1, '16/B374D848')).toBe('0000000100000016000000B3');
    expect(walSegmentForLsn(1, '0/15007B8')).toBe('000000010000000000000001');
  });

  test('the timeline is the first 8 hex digits', () => {
    expect(walSegmentName(0x2a, '0/3000028')).toBe('0000002A0000000000000003');
  });

  test('larger segments put fewer segments in each 4 GiB "log" (initdb --wal-segsize=64)', () => {
    const size = 64 * 1024 * 1024;
    expect(walSegmentName(1, '16/B374D848', size)).toBe('00000001000000160000002C');
    expect(nextWalSegmentName('00000001000000160000003F', size)).toBe('000000010000001700000000');
    expect(() => parseWalSegmentName('000000010000001600000040', size)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('parses a segment name into timeline, log and seg', () => {
    expect(parseWalSegmentName('0000000300000016000000B3')).toEqual({ timeline: 3, log: 0x16, seg: 0xb3, segmentNumber: 0x16n * 256n + 0xb3n });
    expect(walSegmentNumber('16/B374D848')).toBe(0x16n * 256n + 0xb3n);
  });

  test('the next segment carries from seg into log after FF', () => {
    expect(nextWalSegmentName('000000010000000000000009')).toBe('00000001000000000000000A');
    expect(nextWalSegmentName('0000000100000000000000FF')).toBe('000000010000000100000000');
  });

  test('a segment starts at segment number × segment size', () => {
    expect(formatLsn(walSegmentStartLsn('0000000100000016000000B3'))).toBe('16/B3000000');
  });

  test('rejects names that are not 24 upper-case hex digits, and segment sizes PostgreSQL does not allow', () => {
    for (const bad of ['00000001000000000000000', '0000000100000000000000ff', '000000010000000000000100', '000000000000000000000001']) {
      expect(() => parseWalSegmentName(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => walSegmentName(1, '0/1', 3 * 1024 * 1024)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => walSegmentName(0, '0/1')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('archive file kinds', () => {
  test.each([
    ['000000010000000000000003', 'segment'],
    ['00000002.history', 'history'],
    ['000000010000000000000003.partial', 'partial'],
    ['000000010000000000000002.00000028.backup', 'backup'],
    ['00000002.HISTORY', 'none'],
    ['000000010000000000000003.gz', 'none'],
    ['archive_status', 'none'],
  ])('%s is a %s file', (name, kind) => {
    expect(isWalSegmentName(name)).toBe(kind === 'segment');
    expect(isHistoryFileName(name)).toBe(kind === 'history');
    expect(isPartialName(name)).toBe(kind === 'partial');
    expect(isBackupHistoryName(name)).toBe(kind === 'backup');
  });

  test('a timeline history file is named for its timeline in 8 hex digits', () => {
    expect(historyFileName(0x1f)).toBe('0000001F.history');
  });
});
