import { describe, expect, test } from 'vitest';
import { computeManifestChecksum, manifestFilePath, manifestWalRange, parseManifest, verifyManifestChecksum } from '../../../src/postgres/manifest.js';

/**
 * A manifest in pg_basebackup's exact layout, for a backup directory holding only backup_label.
 * PostgreSQL 15's `pg_verifybackup -n` reported "backup successfully verified" for it (and
 * "manifest checksum mismatch" once one byte changed), so its Manifest-Checksum is PostgreSQL's.
 */
const VERIFIED_MANIFEST =
  '{ "PostgreSQL-Backup-Manifest-Version": 1,\n' +
  '"Files": [\n' +
  '{ "Path": "backup_label", "Size": 244, "Last-Modified": "2025-11-25 16:00:00 GMT", "Checksum-Algorithm": "SHA256", "Checksum": "d198ed80ce816abe982807bc02cfd98946fce689d6b0f2e2a411874ef9482ed7" }\n' +
  '],\n' +
  '"WAL-Ranges": [\n' +
  '{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n' +
  '],\n' +
  '"Manifest-Checksum": "133c270912220d8430e865b87ba2adb51a38c998179c942ecf80f22f7efb349a"}\n';

describe('parseManifest', () => {
  test('reads files and WAL ranges with their PostgreSQL field names', () => {
    const manifest = parseManifest(VERIFIED_MANIFEST);
    expect(manifest['PostgreSQL-Backup-Manifest-Version']).toBe(1);
    expect(manifest.Files).toEqual([
      {
        Path: 'backup_label',
        Size: 244,
        'Last-Modified': '2025-11-25 16:00:00 GMT',
        'Checksum-Algorithm': 'SHA256',
        Checksum: 'd198ed80ce816abe982807bc02cfd98946fce689d6b0f2e2a411874ef9482ed7',
      },
    ]);
    expect(manifestWalRange(manifest)).toEqual({ timeline: 1, startTimeline: 1, startLsn: '0/2000028', endLsn: '0/2000100' });
  });

  test('a backup spanning a promotion starts in the last WAL range and ends in the first (newest timeline first)', () => {
    const text = VERIFIED_MANIFEST.replace(
      '{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }',
      '{ "Timeline": 2, "Start-LSN": "0/3000000", "End-LSN": "0/3000100" },\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/3000000" }',
    );
    expect(manifestWalRange(parseManifest(text))).toEqual({ timeline: 2, startTimeline: 1, startLsn: '0/2000028', endLsn: '0/3000100' });
  });

  test('decodes hex Encoded-Path, used for names that are not valid UTF-8', () => {
    const text = VERIFIED_MANIFEST.replace('"Path": "backup_label"', '"Encoded-Path": "6261636b75705f6c6162656c"');
    expect(manifestFilePath(parseManifest(text).Files[0]!)).toBe('backup_label');
  });

  test('keeps a version-2 System-Identifier exact although it exceeds 2^53', () => {
    const text = VERIFIED_MANIFEST.replace('"PostgreSQL-Backup-Manifest-Version": 1,', '"PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": 7712140909099047007,');
    expect(parseManifest(text)['System-Identifier']).toBe('7712140909099047007');
  });

  test('a document that is not a manifest is DATA_CORRUPT', () => {
    expect(() => parseManifest('not json')).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
    expect(() => parseManifest('{"Files": []}')).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
    expect(() => parseManifest(VERIFIED_MANIFEST.replace('"0/2000028"', '"0/xyz"'))).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
  });
});

describe('manifest checksum', () => {
  test('matches the checksum PostgreSQL verified', () => {
    expect(() => verifyManifestChecksum(VERIFIED_MANIFEST)).not.toThrow();
    expect(computeManifestChecksum(Buffer.from(VERIFIED_MANIFEST))).toBe('133c270912220d8430e865b87ba2adb51a38c998179c942ecf80f22f7efb349a');
  });

  test('covers everything before the Manifest-Checksum line, and only that', () => {
    const otherChecksum = VERIFIED_MANIFEST.replace('133c2709', '033c2709');
    expect(computeManifestChecksum(Buffer.from(otherChecksum))).toBe(computeManifestChecksum(Buffer.from(VERIFIED_MANIFEST)));
  });

  test('one changed byte in a file entry is CHECKSUM_MISMATCH', () => {
    const tampered = VERIFIED_MANIFEST.replace('"Size": 244', '"Size": 245');
    expect(() => verifyManifestChecksum(tampered)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
  });

  test('a manifest without a final newline is DATA_CORRUPT, as pg_verifybackup says', () => {
    expect(() => verifyManifestChecksum(VERIFIED_MANIFEST.trimEnd())).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
  });
});
