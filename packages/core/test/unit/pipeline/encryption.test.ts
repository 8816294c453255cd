import { describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/errors.js';
import { clearKeyCache, headerLength } from '../../../src/pipeline/index.js';
import { PASSPHRASE, readObject, sampleData, writeObject } from './pipelineHelpers.js';

const FRAME = 1024;
const INPUT = sampleData(3 * FRAME + 100, 31);

async function encryptedObject(compression: 'none' | 'zstd' = 'none', input = INPUT) {
  return writeObject(input, { compression, passphrase: PASSPHRASE, frameSize: FRAME });
}

function headerJson(stored: Buffer): Record<string, any> {
  return JSON.parse(stored.subarray(12, headerLength(stored.subarray(0, 12))).toString('utf8'));
}

/** Every error must be typed and must never carry the passphrase, in any form. */
function expectNoSecret(error: unknown): void {
  expect(error).toBeInstanceOf(BackupError);
  const text = [JSON.stringify(error), (error as Error).message, (error as BackupError).hint, String((error as Error).cause)].join('\n');
  expect(text).not.toContain(PASSPHRASE);
  expect(text).not.toContain(Buffer.from(PASSPHRASE).toString('base64'));
}

describe('an encrypted object', () => {
  it('carries the documented header and never the passphrase', async () => {
    const { stored } = await encryptedObject();
    expect(stored.subarray(0, 8).toString('ascii')).toBe('LLMAENC1');
    const header = headerJson(stored);
    expect(header).toEqual({
      v: 1,
      cipher: 'aes-256-gcm',
      kdf: { name: 'scrypt', N: 32768, r: 8, p: 1, salt: expect.any(String) },
      wrappedKey: { iv: expect.any(String), data: expect.any(String) },
      noncePrefix: expect.any(String),
    });
    expect(Buffer.from(header.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(header.wrappedKey.data, 'base64')).toHaveLength(48);
    expect(Buffer.from(header.noncePrefix, 'base64')).toHaveLength(4);
    expect(stored.includes(Buffer.from(PASSPHRASE))).toBe(false);
    expect(stored.includes(Buffer.from(Buffer.from(PASSPHRASE).toString('base64')))).toBe(false);
  });

  it('hides the plaintext: no 32-byte run of the input appears in the stored bytes', async () => {
    const text = Buffer.from('very secret row that repeats\n'.repeat(500));
    const { stored } = await encryptedObject('none', text);
    expect(stored.includes(text.subarray(0, 32))).toBe(false);
  });

  it('uses one salt per run but a fresh data key and nonce prefix per object', async () => {
    const first = headerJson((await encryptedObject()).stored);
    const second = headerJson((await encryptedObject()).stored);
    expect(second.kdf.salt).toBe(first.kdf.salt);
    expect(second.wrappedKey.data).not.toBe(first.wrappedKey.data);
    expect(second.noncePrefix).not.toBe(first.noncePrefix);
  });

  it('opens again after the in-process key cache is cleared (the KEK is re-derived from the salt)', async () => {
    const { stored } = await encryptedObject();
    clearKeyCache();
    const { raw, error } = await readObject(stored, { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toBeUndefined();
    expect(raw.equals(INPUT)).toBe(true);
  });

  it('refuses a wrong passphrase with ENCRYPTION_KEY_WRONG before emitting any plaintext', async () => {
    const { stored } = await encryptedObject();
    const { raw, error } = await readObject(stored, { compression: 'none', passphrase: 'not the passphrase' });
    expect(error).toMatchObject({
      code: 'ENCRYPTION_KEY_WRONG',
      message: 'The passphrase does not match the one this object was encrypted with.',
      hint: expect.stringMatching(/BACKUP_ENCRYPTION_PASSPHRASE.*--encryption-key-file/),
    });
    expect(raw.length).toBe(0);
    expectNoSecret(error);
  });

  it('asks for the passphrase with ENCRYPTION_KEY_MISSING when none is given', async () => {
    const { stored } = await encryptedObject();
    const { raw, error } = await readObject(stored, { compression: 'none' });
    expect(error).toMatchObject({ code: 'ENCRYPTION_KEY_MISSING' });
    expect(raw.length).toBe(0);
  });

  it('refuses an empty passphrase when writing', async () => {
    await expect(writeObject(INPUT, { compression: 'none', passphrase: '' })).rejects.toMatchObject({ code: 'ENCRYPTION_KEY_MISSING' });
  });

  it('refuses an unencrypted object where an encrypted one is expected (no downgrade)', async () => {
    const { stored } = await writeObject(INPUT, { compression: 'none', frameSize: FRAME });
    const { raw, error } = await readObject(stored, { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT' });
    expect(raw.length).toBe(0);
    const detected = await readObject(stored, { compression: 'none', passphrase: PASSPHRASE, encrypted: 'detect' });
    expect(detected.raw.equals(INPUT)).toBe(true);
  });
});

describe('a tampered encrypted object', () => {
  it.each(['none', 'zstd'] as const)('(%s) fails on a flipped bit anywhere and never emits anything but true plaintext', async (compression) => {
    const { stored, summary } = await encryptedObject(compression);
    expect(summary.frames).toHaveLength(4);
    const codes = new Set<string>();
    for (let at = 0; at < stored.length; at++) {
      const tampered = Buffer.from(stored);
      tampered[at]! ^= 0x01;
      const { raw, error } = await readObject(tampered, { compression, passphrase: PASSPHRASE }, 997);
      expect(error, `flip at byte ${at}`).toBeInstanceOf(BackupError);
      codes.add((error as BackupError).code);
      expectNoSecret(error);
      // Whatever came out before the failure is authenticated plaintext: a prefix of the input.
      expect(INPUT.subarray(0, raw.length).equals(raw), `flip at byte ${at}`).toBe(true);
    }
    // Chunk damage is DATA_CORRUPT; a damaged salt, iv or wrapped key looks like a wrong key.
    expect([...codes].sort()).toEqual(['DATA_CORRUPT', 'ENCRYPTION_KEY_WRONG']);
  }, 120_000);

  it('names the chunk number and byte offset of a damaged chunk', async () => {
    const { stored, summary } = await encryptedObject();
    const frame = summary.frames[2]!;
    const tampered = Buffer.from(stored);
    tampered[frame.storedOffset + 10]! ^= 0x80;
    const { raw, error } = await readObject(tampered, { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining(`chunk 2 (stored byte offset ${frame.storedOffset})`) });
    // Only frames 0 and 1 may have come out (some may still sit in buffers when the error hits).
    expect(raw.length).toBeLessThanOrEqual(2 * FRAME);
    expect(raw.equals(INPUT.subarray(0, raw.length))).toBe(true);
  });

  it.each([
    ['a flipped header JSON byte', (s: Buffer) => flipAt(s, 14)],
    ['a flipped wrapped-key byte', (s: Buffer) => flipAt(s, s.indexOf('"data":"') + 10)],
    ['a flipped ciphertext byte', (s: Buffer, f: Frames) => flipAt(s, f[1]!.storedOffset + 4 + 5)],
    ['a flipped tag byte', (s: Buffer, f: Frames) => flipAt(s, f[1]!.storedOffset + f[1]!.storedLength - 3)],
    ['a flipped length prefix', (s: Buffer, f: Frames) => flipAt(s, f[1]!.storedOffset + 3)],
    ['a length prefix pointing far past the end', (s: Buffer, f: Frames) => flipAt(s, f[1]!.storedOffset, 0x01)],
  ])('fails on %s', async (_region, tamper) => {
    const { stored, summary } = await encryptedObject();
    const { raw, error } = await readObject(tamper(stored, summary.frames), { compression: 'none', passphrase: PASSPHRASE });
    expect(['DATA_CORRUPT', 'ENCRYPTION_KEY_WRONG']).toContain((error as BackupError | undefined)?.code);
    expect(INPUT.subarray(0, raw.length).equals(raw)).toBe(true);
  });

  it('fails with DATA_CORRUPT when cut at any byte, however little is missing', async () => {
    const { stored } = await encryptedObject();
    for (let length = 0; length < stored.length; length++) {
      const { raw, error } = await readObject(stored.subarray(0, length), { compression: 'none', passphrase: PASSPHRASE }, 501);
      expect(error, `cut at ${length}`).toMatchObject({ code: 'DATA_CORRUPT' });
      expect(INPUT.subarray(0, raw.length).equals(raw)).toBe(true);
    }
  }, 120_000);

  it('fails with DATA_CORRUPT when the final chunk is missing (cut exactly at a chunk boundary)', async () => {
    const { stored, summary } = await encryptedObject();
    const last = summary.frames.at(-1)!;
    const { raw, error } = await readObject(stored.subarray(0, last.storedOffset + last.storedLength), { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('without its final chunk') });
    expect(raw.equals(INPUT)).toBe(true);
  });

  it('fails with DATA_CORRUPT when data follows the final chunk', async () => {
    const { stored } = await encryptedObject();
    const { error } = await readObject(Buffer.concat([stored, Buffer.from([0])]), { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('after its final chunk') });
  });

  it('fails with DATA_CORRUPT when chunks are swapped, dropped or duplicated', async () => {
    const { stored, summary } = await encryptedObject();
    const [a, b, c, d] = summary.frames.map((f) => stored.subarray(f.storedOffset, f.storedOffset + f.storedLength));
    const header = stored.subarray(0, summary.frames[0]!.storedOffset);
    const final = stored.subarray(stored.length - 20);
    for (const chunks of [[a, c, b, d], [a, b, d], [a, b, b, c, d], [a, b, c, d, d]]) {
      const { raw, error } = await readObject(Buffer.concat([header, ...chunks.map((x) => x!), final]), { compression: 'none', passphrase: PASSPHRASE });
      expect(error).toMatchObject({ code: 'DATA_CORRUPT' });
      expect(INPUT.subarray(0, raw.length).equals(raw)).toBe(true);
    }
  });

  it('fails with DATA_CORRUPT when a chunk comes from another object of the same run', async () => {
    const one = await encryptedObject();
    const other = await encryptedObject();
    const f = one.summary.frames[1]!;
    const spliced = Buffer.concat([
      one.stored.subarray(0, f.storedOffset),
      other.stored.subarray(other.summary.frames[1]!.storedOffset, other.summary.frames[1]!.storedOffset + other.summary.frames[1]!.storedLength),
      one.stored.subarray(f.storedOffset + f.storedLength),
    ]);
    const { error } = await readObject(spliced, { compression: 'none', passphrase: PASSPHRASE });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('chunk 1') });
  });
});

type Frames = { storedOffset: number; storedLength: number }[];

function flipAt(stored: Buffer, at: number, mask = 0x01): Buffer {
  const copy = Buffer.from(stored);
  copy[at]! ^= mask;
  return copy;
}
