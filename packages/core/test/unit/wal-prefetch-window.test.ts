import { describe, expect, test } from 'vitest';
import { nextSegments } from '../../src/wal/walPrefetch.js';
import { isInWindow, isSpoolableName, spoolDirectory } from '../../src/wal/walSpool.js';

const SIXTEEN_MIB = 16 * 1024 * 1024;

describe('the prefetch window', () => {
  test('is the next segments of the same timeline, carrying from the last 16 MiB segment of a 4 GiB log into the next', () => {
    expect(nextSegments({ fileName: '0000000200000003000000FE', segmentSize: SIXTEEN_MIB }, 3)).toEqual([
      '0000000200000003000000FF',
      '000000020000000400000000',
      '000000020000000400000001',
    ]);
    expect(nextSegments({ fileName: '000000010000000000000FFF', segmentSize: 1024 * 1024 }, 1)).toEqual(['000000010000000100000000']);
  });

  test('holds a request 1..depth segments ahead on the same timeline, and nothing else', () => {
    const last = { fileName: '0000000100000003000000FE', segmentSize: SIXTEEN_MIB };
    expect(isInWindow(last, '0000000100000003000000FF', 8)).toBe(true);
    expect(isInWindow(last, '000000010000000400000006', 8)).toBe(true);
    expect(isInWindow(last, '000000010000000400000007', 8)).toBe(false);
    expect(isInWindow(last, '0000000100000003000000FE', 8)).toBe(false);
    expect(isInWindow(last, '0000000200000003000000FF', 8)).toBe(false);
    expect(isInWindow(last, '00000002.history', 8)).toBe(false);
  });

  test('spools segments only: history, partial and backup history files are fetched directly', () => {
    expect(isSpoolableName('000000010000000000000003')).toBe(true);
    for (const name of ['00000002.history', '000000010000000000000003.partial', '000000010000000000000003.00000028.backup']) expect(isSpoolableName(name)).toBe(false);
  });

  test('keeps one directory per repository and cluster', () => {
    const a = spoolDirectory('/spool', 's3://bucket/a', '7300000000000000001');
    expect(a).toMatch(/^\/spool\/[0-9a-f]{16}$/);
    expect(spoolDirectory('/spool', 's3://bucket/b', '7300000000000000001')).not.toBe(a);
    expect(spoolDirectory('/spool', 's3://bucket/a', '7300000000000000002')).not.toBe(a);
    expect(spoolDirectory('/spool', 's3://bucket/a', '7300000000000000001')).toBe(a);
  });
});
