import { describe, expect, it } from 'vitest';
import { BackupError } from '../../src/errors.js';
import { describeRepository, parseRepositoryUrl, type RepositorySpec } from '../../src/storage/repository.js';

const cwd = '/home/operator/work';

describe('parseRepositoryUrl', () => {
  it.each<[string, RepositorySpec]>([
    ['s3://backups', { kind: 's3', bucket: 'backups', prefix: '' }],
    ['s3://backups/', { kind: 's3', bucket: 'backups', prefix: '' }],
    ['s3://my-bucket.example/timescaledb/prod', { kind: 's3', bucket: 'my-bucket.example', prefix: 'timescaledb/prod' }],
    ['s3://my-bucket//a///b/', { kind: 's3', bucket: 'my-bucket', prefix: 'a/b' }],
    ['S3://my-bucket/p', { kind: 's3', bucket: 'my-bucket', prefix: 'p' }],
    ['  s3://my-bucket/p  ', { kind: 's3', bucket: 'my-bucket', prefix: 'p' }],
  ])('reads %j as an S3 bucket and prefix', (text, spec) => {
    expect(parseRepositoryUrl(text, cwd)).toEqual(spec);
  });

  it.each<[string, string]>([
    ['file:///var/backups/tsdb', '/var/backups/tsdb'],
    ['file:///var/backups/with%20space', '/var/backups/with space'],
    ['file://localhost/var/backups', '/var/backups'],
    ['/var/backups/tsdb/', '/var/backups/tsdb'],
    ['/var/backups/../tmp/x', '/var/tmp/x'],
    ['backups', '/home/operator/work/backups'],
    ['./backups', '/home/operator/work/backups'],
    ['../elsewhere', '/home/operator/elsewhere'],
    ['./name:with-colon', '/home/operator/work/name:with-colon'],
  ])('reads %j as the directory %s', (text, path) => {
    expect(parseRepositoryUrl(text, cwd)).toEqual({ kind: 'fs', path });
  });

  it.each<[string, RegExp]>([
    ['', /empty/],
    ['   ', /empty/],
    ['s3://', /bucket name is missing/],
    ['s3:///prefix', /bucket name is missing/],
    ['s3:bucket/prefix', /s3:\/\//],
    ['s3://Upper-Case/p', /not a valid bucket name/],
    ['s3://ab/p', /3 to 63/],
    ['s3://under_score/p', /not a valid bucket name/],
    ['s3://-leading-hyphen', /start and end/],
    ['s3://two..dots', /adjacent dots/],
    ['s3://192.168.1.10/p', /IP address/],
    [`s3://${'a'.repeat(64)}`, /3 to 63/],
    ['s3://bucket/a/../b', /"\." or "\.\." segment/],
    ['http://example.com/backups', /scheme "http:"/],
    ['https://s3.amazonaws.com/bucket', /scheme "https:"/],
    ['gs://bucket/prefix', /scheme "gs:"/],
    ['file://host/x', /file:\/\/\/ABSOLUTE\/PATH/],
    ['file:relative/path', /file:\/\/\/ABSOLUTE\/PATH/],
    ['file:/single/slash', /file:\/\/\/ABSOLUTE\/PATH/],
    ['dir\0name', /NUL/],
  ])('refuses %j with INVALID_REPOSITORY', (text, problem) => {
    let error: unknown;
    try {
      parseRepositoryUrl(text, cwd);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackupError);
    const backupError = error as BackupError;
    expect(backupError.code).toBe('INVALID_REPOSITORY');
    expect(backupError.message).toContain(JSON.stringify(text));
    expect(backupError.message).toMatch(problem);
    expect(backupError.hint).toBe('Use s3://BUCKET/PREFIX, file:///ABSOLUTE/PATH or a directory path (absolute or relative).');
  });
});

describe('describeRepository', () => {
  it('names an S3 repository by bucket and prefix, and a directory by its path', () => {
    expect(describeRepository({ kind: 's3', bucket: 'b-1', prefix: 'tsdb/prod', endpoint: 'http://user:pw@minio:9000', region: 'eu-west-1' })).toBe('s3://b-1/tsdb/prod');
    expect(describeRepository({ kind: 's3', bucket: 'b-1', prefix: '' })).toBe('s3://b-1');
    expect(describeRepository({ kind: 'fs', path: '/var/backups' })).toBe('/var/backups');
  });

  it('round-trips through parseRepositoryUrl', () => {
    for (const text of ['s3://b-1/tsdb/prod', 's3://b-1', '/var/backups']) {
      expect(describeRepository(parseRepositoryUrl(text, cwd))).toBe(text);
    }
  });
});
