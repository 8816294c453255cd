import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FlushBehind } from '../../../src/storage/flushBehind.js';

/** A handle whose datasync calls are counted and finished (or failed) by the test. */
function controlledHandle() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const handle = { datasync: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })) };
  return { handle: handle as unknown as FileHandle, pending };
}

describe('FlushBehind', () => {
  it('starts a flush only once enough bytes piled up, and never two at once', async () => {
    const { handle, pending } = controlledHandle();
    const flush = new FlushBehind(handle, 100);
    flush.written(99);
    expect(pending).toHaveLength(0);
    flush.written(100);
    expect(pending).toHaveLength(1);
    flush.written(250); // the first flush still runs
    expect(pending).toHaveLength(1);
    pending[0]!.resolve();
    await Promise.resolve();
    await Promise.resolve();
    flush.written(260); // 160 bytes since the flush started at 100
    expect(pending).toHaveLength(2);
    pending[1]!.resolve();
    await flush.settle();
  });

  it('settle() waits for the flush in flight', async () => {
    const { handle, pending } = controlledHandle();
    const flush = new FlushBehind(handle, 10);
    flush.written(10);
    let settled = false;
    const settling = flush.settle().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    pending[0]!.resolve();
    await settling;
    expect(settled).toBe(true);
  });

  it('a failed background flush is thrown by settle(), even after later flushes succeed', async () => {
    const { handle, pending } = controlledHandle();
    const flush = new FlushBehind(handle, 10);
    flush.written(10);
    pending[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    flush.written(30);
    pending[1]!.resolve();
    await expect(flush.settle()).rejects.toMatchObject({ code: 'EIO' });
  });
});
