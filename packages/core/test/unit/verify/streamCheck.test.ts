import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsStorage } from '../../../src/storage/fs.js';
import type { BackupMetadata, StoredObject } from '../../../src/types/metadata.js';
import { readBackupObject } from '../../../src/verify/streamCheck.js';
import { SMALL_FRAME, writeObject } from '../pipeline/pipelineHelpers.js';

const work = mkdtempSync(join(tmpdir(), 'streamcheck-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tar whose one big member spans several frames, stored as a zstd object in a directory repository. */
async function storedTar(cut: (tar: Buffer) => Buffer) {
  const dir = mkdtempSync(join(work, 'src-'));
  mkdirSync(join(dir, 'base'));
  writeFileSync(join(dir, 'base/1259'), Buffer.alloc(300_000, 'x'));
  writeFileSync(join(dir, 'PG_VERSION'), '15\n');
  const tar = cut(execFileSync('tar', ['-c', '-f', '-', '-C', dir, 'PG_VERSION', 'base']));
  const { stored, summary } = await writeObject(tar, { compression: 'zstd', frameSize: SMALL_FRAME, workers: 0 });
  const storage = new FsStorage(mkdtempSync(join(work, 'repo-')));
  await storage.put('base.tar.zst', stored);
  const object = { key: 'base.tar.zst', rawSize: tar.length, storedSize: stored.length, sha256: summary.sha256 } as StoredObject;
  return { storage, object, metadata: { compression: 'zstd', encrypted: false } as BackupMetadata };
}

describe('reading a stored backup object for verify (readBackupObject)', () => {
  it('reports a tar that ends inside a member as a tar error, though every frame decodes', async () => {
    // Cut inside base/1259's body, on a block boundary: the zstd object itself is intact.
    const { storage, object, metadata } = await storedTar((tar) => tar.subarray(0, 2048 + 100 * 512));
    for (let run = 0; run < 5; run += 1) {
      const findings = await readBackupObject(metadata, object, { storage });
      expect(findings.decode?.error).toBeUndefined();
      expect(findings.decode?.tarError).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('ends in the middle of a tar member') });
    }
  });

  it('reads an intact tar without a tar error, with every file digested', async () => {
    const { storage, object, metadata } = await storedTar((tar) => tar);
    const findings = await readBackupObject(metadata, object, { storage });
    expect(findings.decode?.tarError).toBeUndefined();
    expect(findings.decode?.error).toBeUndefined();
    expect(findings.decode?.files.get('base/1259')?.size).toBe(300_000);
    expect(findings.decode?.files.get('PG_VERSION')?.size).toBe(3);
  });
});
