import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareWithManifest, type FileDigest } from '../../../src/verify/manifestCheck.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A manifest in pg_basebackup's layout, with a correct Manifest-Checksum unless told otherwise. */
function manifest(files: Record<string, string>, options: { algorithm?: string } = {}): Buffer {
  const entries = Object.entries(files).map(([path, content]) =>
    `{ "Path": "${path}", "Size": ${content.length}, "Last-Modified": "2026-11-25 12:00:00 GMT", "Checksum-Algorithm": "${options.algorithm ?? 'SHA256'}", "Checksum": "${options.algorithm ? '0badc0de' : sha(content)}" }`,
  );
  const body = `{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n${entries.join(',\n')}\n],\n"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n`;
  return Buffer.from(`${body}"Manifest-Checksum": "${sha(body)}"}\n`);
}

function digests(files: Record<string, string>): Map<string, FileDigest> {
  return new Map(Object.entries(files).map(([path, content]) => [path, { size: content.length, sha256: sha(content) }]));
}

const files = { PG_VERSION: '15\n', 'base/1/1259': 'heap page', 'global/pg_control': 'control' };

describe('compareWithManifest', () => {
  it('accepts files that match the manifest by size and SHA-256, ignoring pg_wal and the manifest itself', () => {
    const result = compareWithManifest(manifest(files), digests({ ...files, backup_manifest: '{}', 'pg_wal/000000010000000000000002': 'wal' }));
    expect(result).toMatchObject({ ok: true, checkedFiles: 3, checkedBytes: 3 + 9 + 7, problems: [] });
  });

  it('names a file whose content differs from its manifest checksum', () => {
    const result = compareWithManifest(manifest(files), digests({ ...files, 'base/1/1259': 'heap pagX' }));
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([`base/1/1259: SHA-256 ${sha('heap pagX')} differs from backup_manifest's ${sha('heap page')}`]);
  });

  it('names a missing file, a file of the wrong size and a file the manifest does not list', () => {
    const seen = digests({ PG_VERSION: '15\n', 'base/1/1259': 'heap page, longer', extra: 'x' });
    expect(compareWithManifest(manifest(files), seen).problems).toEqual([
      'base/1/1259 is 17 bytes, backup_manifest says 9',
      'global/pg_control is listed in backup_manifest but missing from the archive',
      'extra is in the archive but not in backup_manifest',
    ]);
  });

  it('refuses a manifest whose own checksum does not match its content', () => {
    const tampered = Buffer.from(manifest(files).toString('utf8').replace('"Size": 9', '"Size": 8'));
    const result = compareWithManifest(tampered, digests(files));
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/^backup_manifest: The backup manifest's checksum does not match its content/);
  });

  it('reports an archive without backup_manifest', () => {
    expect(compareWithManifest(undefined, digests(files)).problems).toEqual(['the archive holds no backup_manifest']);
  });

  it('compares files listed with another checksum algorithm by size only', () => {
    expect(compareWithManifest(manifest(files, { algorithm: 'CRC32C' }), digests(files))).toMatchObject({ ok: true, checkedFiles: 0, sizeOnlyFiles: 3 });
  });
});
