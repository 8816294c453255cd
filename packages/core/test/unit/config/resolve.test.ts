import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve.js';

describe('resolveConfig', () => {
  it('uses the specification defaults and a local directory repository when nothing is set', () => {
    const config = resolveConfig({}, { HOME: '/home/op' });
    expect(config).toMatchObject({ database: 'llm_analytics', compression: 'zstd', encryption: true, retentionDays: 30, repositoryIsDefault: true });
    expect(config.repository).toEqual({ kind: 'fs', path: '/home/op/.local/share/llm-analytics/backups' });
  });

  it('chooses S3 with the default prefix and region when only a bucket is given', () => {
    const config = resolveConfig({}, { BACKUP_S3_BUCKET: 'my-backups' });
    expect(config.repository).toMatchObject({ kind: 's3', bucket: 'my-backups', prefix: 'timescaledb', region: 'us-east-1' });
  });

  it('lets flags win over the environment', () => {
    const config = resolveConfig(
      { s3Bucket: 'flag-bucket', s3Prefix: 'prod/db', awsRegion: 'us-west-2', database: 'other', retentionDays: 90 },
      { BACKUP_S3_BUCKET: 'env-bucket', BACKUP_S3_PREFIX: 'env', AWS_REGION: 'eu-west-1' },
    );
    expect(config.repository).toMatchObject({ bucket: 'flag-bucket', prefix: 'prod/db', region: 'us-west-2' });
    expect(config).toMatchObject({ database: 'other', retentionDays: 90 });
  });

  it('takes a repository URL from BACKUP_REPO with a custom endpoint in path style', () => {
    const config = resolveConfig({}, { BACKUP_REPO: 's3://bkt/p', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' });
    expect(config.repository).toMatchObject({ kind: 's3', bucket: 'bkt', prefix: 'p', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
  });

  it('keeps the passphrase and the database password out of JSON and inspection', () => {
    const config = resolveConfig({}, { BACKUP_ENCRYPTION_PASSPHRASE: 'correct horse', PGPASSWORD: 'hunter2' });
    const shown = JSON.stringify(config) + inspect(config, { depth: 10 }) + `${config.passphrase}`;
    expect(shown).not.toContain('correct horse');
    expect(shown).not.toContain('hunter2');
    expect(config.passphrase?.reveal()).toBe('correct horse');
  });

  it('reads the passphrase from a key file, and names an unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-'));
    try {
      writeFileSync(join(dir, 'key'), 's3cret-from-file\n');
      expect(resolveConfig({ encryptionKeyFile: join(dir, 'key') }, {}).passphrase?.reveal()).toBe('s3cret-from-file');
      expect(() => resolveConfig({ encryptionKeyFile: join(dir, 'missing') }, {})).toThrow(expect.objectContaining({ code: 'ENCRYPTION_KEY_MISSING', message: expect.stringContaining('missing') }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad retention and a bad database name', () => {
    expect(() => resolveConfig({ retentionDays: 0 }, {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveConfig({ database: 'drop table;' }, {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
