import { describe, expect, test } from 'vitest';
import { parseBackupLabel } from '../../../src/postgres/backupLabel.js';

/** In the layout PostgreSQL 15 writes (test/integration/postgres-sql.test.ts parses a real one). */
const LABEL_PG15 = `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2025-11-25 16:00:00 UTC
LABEL: backup-llm_analytics-20251125T160000Z-1a2b3c
START TIMELINE: 1
`;

describe('parseBackupLabel', () => {
  test('reads every field PostgreSQL 15 writes', () => {
    expect(parseBackupLabel(LABEL_PG15)).toEqual({
      startWalLocation: '0/2000028',
      startWalFile: '000000010000000000000002',
      checkpointLocation: '0/2000060',
      backupMethod: 'streamed',
      backupFrom: 'primary',
      startTime: '2025-11-25 16:00:00 UTC',
      label: 'backup-llm_analytics-20251125T160000Z-1a2b3c',
      startTimeline: 1,
    });
  });

  test('keeps a label with colons and spaces whole', () => {
    const text = LABEL_PG15.replace(/^LABEL: .*$/m, 'LABEL: nightly: before upgrade 15 -> 16');
    expect(parseBackupLabel(text).label).toBe('nightly: before upgrade 15 -> 16');
  });

  test('takes the timeline from the WAL file name when START TIMELINE is absent (before PostgreSQL 11)', () => {
    const old = LABEL_PG15.replace('(file 000000010000000000000002)', '(file 000000030000000000000002)').replace(/^START TIMELINE: .*\n/m, '');
    expect(parseBackupLabel(old).startTimeline).toBe(3);
  });

  test('reads the incremental fields of PostgreSQL 17', () => {
    const incremental = `${LABEL_PG15}INCREMENTAL FROM LSN: 0/1000028\nINCREMENTAL FROM TLI: 1\n`;
    expect(parseBackupLabel(incremental)).toMatchObject({ incrementalFromLsn: '0/1000028', incrementalFromTimeline: 1 });
  });

  test('accepts CRLF line ends', () => {
    expect(parseBackupLabel(LABEL_PG15.replace(/\n/g, '\r\n')).label).toBe('backup-llm_analytics-20251125T160000Z-1a2b3c');
  });

  test('a label without a start location is DATA_CORRUPT', () => {
    expect(() => parseBackupLabel('LABEL: x\n')).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
    expect(() => parseBackupLabel(LABEL_PG15.replace('0/2000028', 'zz'))).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
  });
});
