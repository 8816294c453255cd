import { describe, expect, it } from 'vitest';
import { COMPRESSIONS, SMALL_FRAME, readObject, runCli, sampleData, sha256, writeObject } from './pipelineHelpers.js';

const INPUT = sampleData(5 * SMALL_FRAME + 4_321, 21);
const DECODERS = {
  zstd: ['zstd', ['-d', '-c', '-q']],
  gzip: ['gzip', ['-d', '-c']],
  lz4: ['lz4', ['-d', '-c', '-q']],
} as const;
const ENCODERS = {
  zstd: ['zstd', ['-1', '-c', '-q']],
  gzip: ['gzip', ['-1', '-c']],
  lz4: ['lz4', ['-1', '-c', '-q']],
} as const;

describe.each(['zstd', 'gzip', 'lz4'] as const)('an unencrypted %s object', (compression) => {
  const [command, args] = DECODERS[compression];

  it(`decodes whole with the real ${compression} CLI, across all its frames`, async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: SMALL_FRAME });
    expect(summary.frames.length).toBeGreaterThan(1);
    const result = runCli(command, [...args], stored);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(sha256(result.stdout)).toBe(sha256(INPUT));
  });

  it(`of an empty stream is still a valid file for the ${compression} CLI`, async () => {
    const { stored } = await writeObject(Buffer.alloc(0), { compression });
    const result = runCli(command, [...args], stored);
    expect(result.status).toBe(0);
    expect(result.stdout.length).toBe(0);
  });

  it(`written by the ${compression} CLI is read by the frame reader`, async () => {
    const [encoder, encodeArgs] = ENCODERS[compression];
    const compressed = runCli(encoder, [...encodeArgs], INPUT);
    expect(compressed.status).toBe(0);
    const { raw, error } = await readObject(compressed.stdout, { compression });
    expect(error).toBeUndefined();
    expect(sha256(raw)).toBe(sha256(INPUT));
  });
});

it('stores none as the raw stream itself', async () => {
  expect(COMPRESSIONS).toContain('none');
  const { stored } = await writeObject(INPUT, { compression: 'none', frameSize: SMALL_FRAME });
  expect(stored.equals(INPUT)).toBe(true);
});
