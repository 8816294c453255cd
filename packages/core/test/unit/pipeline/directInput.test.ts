import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createFrameWriter, type FrameWriter } from '../../../src/pipeline/index.js';
import { COMPRESSIONS, PASSPHRASE, SMALL_FRAME, readObject, sampleData, writeObject } from './pipelineHelpers.js';

/** What a reader does with writer.direct: read into the space handed out, report it, pause when told. */
async function feedDirect(writer: FrameWriter, raw: Buffer, readSize: number): Promise<{ pauses: number }> {
  let pauses = 0;
  for (let at = 0; at < raw.length; ) {
    const space = writer.direct.space();
    expect(space.length).toBeGreaterThan(0);
    const bytes = raw.copy(space, 0, at, at + Math.min(readSize, space.length));
    at += bytes;
    if (!writer.direct.filled(bytes)) {
      pauses += 1;
      await writer.direct.ready();
    }
  }
  writer.end();
  return { pauses };
}

function collect(): { sink: Writable; stored: () => Buffer } {
  const parts: Buffer[] = [];
  return { sink: new Writable({ write: (chunk, _e, callback) => (parts.push(chunk), callback()) }), stored: () => Buffer.concat(parts) };
}

describe('frame writer read into directly (writer.direct, for Host.execInto)', () => {
  for (const compression of COMPRESSIONS) {
    it(`stores what write() would store (${compression}), with the same frames and summary`, async () => {
      const raw = sampleData(5 * SMALL_FRAME + 1234, 9);
      const viaWrite = await writeObject(raw, { compression, frameSize: SMALL_FRAME });
      const writer = createFrameWriter({ compression, frameSize: SMALL_FRAME });
      const { sink, stored } = collect();
      await Promise.all([feedDirect(writer, raw, 7_001), pipeline(writer, sink)]);
      expect(stored().equals(viaWrite.stored)).toBe(true);
      expect(writer.summary()).toEqual(viaWrite.summary);
    });
  }

  it('encrypted: decrypts and decodes to the input', async () => {
    const raw = sampleData(3 * SMALL_FRAME + 5, 4);
    const writer = createFrameWriter({ compression: 'zstd', frameSize: SMALL_FRAME, passphrase: PASSPHRASE });
    const { sink, stored } = collect();
    await Promise.all([feedDirect(writer, raw, 50_000), pipeline(writer, sink)]);
    expect((await readObject(stored(), { compression: 'zstd', passphrase: PASSPHRASE })).raw.equals(raw)).toBe(true);
  });

  it('shows the inspector every byte read, and asks the reader to pause while frames are in flight', async () => {
    const raw = sampleData(12 * SMALL_FRAME, 2);
    const seen: Buffer[] = [];
    const writer = createFrameWriter({
      compression: 'zstd',
      frameSize: SMALL_FRAME,
      inspectRaw: { walk: (chunk) => void seen.push(Buffer.from(chunk)), endOfInput: () => {} },
    });
    const { sink, stored } = collect();
    const [{ pauses }] = await Promise.all([feedDirect(writer, raw, SMALL_FRAME), pipeline(writer, sink)]);
    expect(Buffer.concat(seen).equals(raw)).toBe(true);
    expect(pauses).toBeGreaterThan(0);
    expect((await readObject(stored(), { compression: 'zstd' })).raw.equals(raw)).toBe(true);
  });

  it('what the inspector throws comes out of filled(), and a destroyed writer hands out no more space', async () => {
    const writer = createFrameWriter({
      compression: 'zstd',
      frameSize: SMALL_FRAME,
      inspectRaw: {
        walk: () => {
          throw new Error('damaged tar');
        },
        endOfInput: () => {},
      },
    });
    writer.on('error', () => {});
    writer.direct.space().fill(1, 0, 10);
    expect(() => writer.direct.filled(10)).toThrow('damaged tar');
    writer.destroy();
    expect(() => writer.direct.space()).toThrow('destroyed');
    await expect(writer.direct.ready()).resolves.toBeUndefined();
  });
});
