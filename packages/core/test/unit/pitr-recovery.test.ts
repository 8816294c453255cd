import { describe, expect, test } from 'vitest';
import { formatRecoveryTime, parsePitrTime, pitrTargetFrom, recoveryConfText } from '../../src/restore/recovery.js';

const fetch = ['/usr/bin/node', '/opt/llm analytics/bin/run.js', 'database', 'wal-fetch', '--repo', "s3://b/p"];

describe('recovery settings', () => {
  test('write a time target in the form PostgreSQL 15 accepts, in UTC with milliseconds', () => {
    expect(formatRecoveryTime(parsePitrTime('2026-11-24T12:33:12.345+02:00'))).toBe('2026-11-24 10:33:12.345+00');
  });

  test('hold restore_command, the recovery_end_command clearing the prefetch spool, the target, inclusiveness, promote and the backup’s own timeline, and no secret', () => {
    const text = recoveryConfText({ walFetchCommand: fetch, target: { kind: 'time', time: new Date('2026-11-24T10:33:12Z') }, inclusive: false });
    expect(text).toBe(
      [
        "restore_command = '/usr/bin/node ''/opt/llm analytics/bin/run.js'' database wal-fetch --repo s3://b/p %f %p'",
        "recovery_end_command = '/usr/bin/node ''/opt/llm analytics/bin/run.js'' database wal-fetch --repo s3://b/p --clear-spool'",
        "recovery_target_timeline = 'current'",
        "recovery_target_time = '2026-11-24 10:33:12.000+00'",
        'recovery_target_inclusive = off',
        "recovery_target_action = 'promote'",
        '',
      ].join('\n'),
    );
  });

  test('without a target replay the archive to its end and set no recovery_target_*', () => {
    expect(recoveryConfText({ walFetchCommand: fetch, inclusive: true })).not.toMatch(/recovery_target_(time|lsn|xid|name|action) =/);
  });

  test('name LSN, xid and restore point targets', () => {
    expect(recoveryConfText({ walFetchCommand: fetch, target: { kind: 'lsn', lsn: '0/3000028' }, inclusive: true })).toContain("recovery_target_lsn = '0/3000028'");
    expect(recoveryConfText({ walFetchCommand: fetch, target: { kind: 'xid', xid: '742' }, inclusive: true })).toContain("recovery_target_xid = '742'");
    expect(recoveryConfText({ walFetchCommand: fetch, target: { kind: 'name', name: "it's" }, inclusive: true })).toContain("recovery_target_name = 'it''s'");
  });
});

describe('PITR target parsing', () => {
  test('refuses a timestamp without a zone or with impossible fields as INVALID_TIMESTAMP', () => {
    for (const text of ['2026-11-24 10:33:12', 'yesterday', '2026-13-01T00:00:00Z', '2026-11-24T25:00:00Z']) {
      expect(() => parsePitrTime(text), text).toThrow(expect.objectContaining({ code: 'INVALID_TIMESTAMP' }));
    }
  });

  test('refuses two targets at once, a bad LSN and a non-numeric xid', () => {
    expect(() => pitrTargetFrom({ time: '2026-11-24T10:00:00Z', lsn: '0/1' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => pitrTargetFrom({ lsn: 'zz' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => pitrTargetFrom({ xid: '12a' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
