import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { FsStorage } from '../../src/storage/fs.js';
import { walPush } from '../../src/wal/walPush.js';

/** wal-push's rules for a name that is already archived, on a local repository. */
const SYSTEM_ID = '7311111111111111111';
let dir: string;
let storage: FsStorage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wal-push-'));
  storage = new FsStorage(join(dir, 'repo'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function push(name: string, content: string) {
  const path = join(dir, name);
  await writeFile(path, content);
  const config = resolveConfig({ repo: join(dir, 'repo'), encryption: false }, {});
  return walPush({ config, path, pgdata: dir, systemIdentifier: SYSTEM_ID }, { storage });
}

async function archivedNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const object of storage.list(`wal/${SYSTEM_ID}/`)) names.push(object.key.slice(object.key.lastIndexOf('/') + 1));
  return names;
}

describe('wal-push of a name that is already archived', () => {
  it('succeeds without writing when the content is the same', async () => {
    expect(await push('000000010000000000000001', 'segment one')).toMatchObject({ alreadyArchived: false });
    expect(await push('000000010000000000000001', 'segment one')).toMatchObject({ alreadyArchived: true });
  });

  it('refuses a segment with different content and keeps the archived one', async () => {
    await expect(push('000000010000000000000001', 'something else')).rejects.toMatchObject({ code: 'OBJECT_EXISTS' });
    expect(await archivedNames()).toEqual(['000000010000000000000001.zst']);
  });

  it('keeps a second, different .partial file of the same name under a name with its content hash', async () => {
    const name = '000000010000000000000002.partial';
    expect(await push(name, 'end of timeline 1 as server A saw it')).toMatchObject({ fileName: name, alreadyArchived: false });
    const second = await push(name, 'end of timeline 1 as server B saw it');
    expect(second.fileName).toMatch(/^000000010000000000000002\.partial\.[0-9a-f]{16}$/);
    expect(second.alreadyArchived).toBe(false);
    expect(await push(name, 'end of timeline 1 as server B saw it')).toMatchObject({ fileName: second.fileName, alreadyArchived: true });
    expect((await archivedNames()).filter((n) => n.includes('.partial'))).toHaveLength(2);
  });
});
