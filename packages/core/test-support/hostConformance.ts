import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import type { Host } from '../src/host/host.js';

const MiB = 1024 * 1024;

/** A writable that takes `delayMs` per chunk (a slow uploader), or none at all with 0. */
export function slowSink(delayMs: number, onChunk: (chunk: Buffer) => void): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      onChunk(chunk);
      if (delayMs === 0) callback();
      else setTimeout(callback, delayMs);
    },
  });
}

export interface HostUnderTest {
  /** The host; `maxOutputBytes` makes one with a smaller exec() output cap. */
  make(options?: { maxOutputBytes?: number }): Host;
  /** A directory the host's commands may read and write, also readable here. */
  scratch(): string;
}

/**
 * What every Host must do, whatever the transport: the same cases run against LocalHost and
 * KubernetesHost (through the test API server), so the engines can rely on them unchanged.
 */
export function describeHostConformance(name: string, subject: HostUnderTest): void {
  const host = () => subject.make();

  describe(`${name}.exec`, () => {
    test('collects stdout, stderr and the exit code of a failing command without throwing', async () => {
      const result = await host().exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    });

    test('passes argv to the program untouched: no shell interprets $, ; or quotes', async () => {
      const result = await host().exec(['printf', '%s|', '$HOME; echo pwned', "it's", '*']);
      expect(result.stdout).toBe("$HOME; echo pwned|it's|*|");
    });

    test('feeds the stdin stream and adds the extra environment (where PGPASSWORD goes)', async () => {
      const input = Readable.from([Buffer.from('line 1\n'), Buffer.from('line 2\n')]);
      const result = await host().exec(['sh', '-c', 'cat; printenv PGPASSWORD'], { stdin: input, env: { PGPASSWORD: 'not-in-argv' } });
      expect(result.stdout).toBe('line 1\nline 2\nnot-in-argv\n');
    });

    test('runs in the given working directory', async () => {
      expect((await host().exec(['pwd'], { cwd: subject.scratch() })).stdout.trim()).toBe(subject.scratch());
    });

    test('stops a command whose collected output exceeds the cap: HOST_COMMAND_FAILED, pointing at streaming', async () => {
      const capped = subject.make({ maxOutputBytes: MiB });
      await expect(capped.exec(['head', '-c', String(8 * MiB), '/dev/zero'])).rejects.toMatchObject({
        code: 'HOST_COMMAND_FAILED',
        hint: expect.stringContaining('execStream'),
      });
    });

    test('a missing program is HOST_COMMAND_FAILED naming it, with a hint about installing it or PG_BIN_DIR', async () => {
      const failure = host().exec(['pg_no_such_program_xyz', '--version']);
      await expect(failure).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('"pg_no_such_program_xyz" was not found') });
      await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining('PG_BIN_DIR') });
    });

    test('aborting kills the command and rejects with CANCELLED at once', async () => {
      const controller = new AbortController();
      const started = Date.now();
      const run = host().exec(['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(Date.now() - started).toBeLessThan(3000);
    });

    test('an already aborted signal starts nothing', async () => {
      const marker = join(subject.scratch(), 'never-created');
      await expect(host().exec(['touch', marker], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
    });

  });

  describe(`${name}.execStream`, () => {
    test('streams 200 MiB to a slow reader with backpressure: memory stays flat', async () => {
      const total = 200 * MiB;
      const run = host().execStream(['head', '-c', String(total), '/dev/zero']);
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      let received = 0;
      let chunks = 0;
      const started = Date.now();
      // 1 ms pause every 8 chunks (~0.5 MiB): a reader several times slower than head writes.
      const reader = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          if (++chunks % 8 !== 0) return callback();
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          setTimeout(callback, 1);
        },
      });
      await pipeline(run.stdout, reader);
      expect(received).toBe(total);
      expect(Date.now() - started).toBeGreaterThan(400);
      await expect(run.done).resolves.toEqual({ exitCode: 0, stderr: '' });
      expect(peakRss - rssBefore).toBeLessThan(64 * MiB);
    });

    test('while nobody reads, the command waits instead of filling memory', async () => {
      const run = host().execStream(['head', '-c', String(200 * MiB), '/dev/zero']);
      const rssBefore = process.memoryUsage().rss;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Only the pipe and one stream buffer hold data; head is blocked in write().
      expect(run.stdout.readableLength).toBeLessThanOrEqual(128 * 1024);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(32 * MiB);
      let received = 0;
      await pipeline(run.stdout, slowSink(0, (chunk) => (received += chunk.length)));
      expect(received).toBe(200 * MiB);
      expect((await run.done).exitCode).toBe(0);
    });

    test('a non-zero exit fails the reader\'s pipeline with the command\'s stderr: a truncated stream never looks complete', async () => {
      const run = host().execStream(['sh', '-c', 'head -c 300000 /dev/zero; echo "disk on fire" >&2; exit 4']);
      let received = 0;
      const consumed = pipeline(run.stdout, slowSink(0, (chunk) => (received += chunk.length)));
      await expect(consumed).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('disk on fire') });
      // What was still buffered when the command failed is dropped with the error: it is worthless.
      expect(received).toBeLessThanOrEqual(300000);
      await expect(run.done).resolves.toMatchObject({ exitCode: 4, stderr: 'disk on fire\n' });
    });

    test('a reader that gives up early stops the command (it would block forever otherwise)', async () => {
      const run = host().execStream(['yes']);
      for await (const chunk of run.stdout) {
        expect((chunk as Buffer).length).toBeGreaterThan(0);
        break; // destroys the stream
      }
      const { exitCode } = await run.done;
      expect(exitCode).toBe(128 + 15); // SIGTERM
    });

    test('abort destroys the stream with CANCELLED and rejects done', async () => {
      const controller = new AbortController();
      const run = host().execStream(['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await expect(pipeline(run.stdout, slowSink(0, () => {}))).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect(run.done).rejects.toMatchObject({ code: 'CANCELLED' });
    });

    test('a missing program fails both the stream and done with HOST_COMMAND_FAILED', async () => {
      const run = host().execStream(['pg_no_such_program_xyz']);
      await expect(pipeline(run.stdout, slowSink(0, () => {}))).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED' });
      await expect(run.done).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('pg_no_such_program_xyz') });
    });

    test('keeps only the last 64 KiB of a long stderr', async () => {
      const run = host().execStream(['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x >&2; echo END >&2']);
      run.stdout.resume();
      const { stderr } = await run.done;
      expect(stderr.length).toBeLessThanOrEqual(64 * 1024);
      expect(stderr.endsWith('xEND\n')).toBe(true);
    });

  });

  describe(`${name}.execSink`, () => {
    test('tar -c streamed into tar -x reproduces the files', async () => {
      const source = join(subject.scratch(), 'tar-src');
      const target = join(subject.scratch(), 'tar-dst');
      await mkdir(join(source, 'base', '1'), { recursive: true });
      // Made by the host, so that its user (postgres in a pod) may write there.
      await host().exec(['mkdir', target]);
      await writeFile(join(source, 'PG_VERSION'), '15\n');
      await writeFile(join(source, 'base', '1', '1259'), Buffer.alloc(3 * MiB, 7));
      const producer = host().execStream(['tar', '-c', '-C', source, '.']);
      const consumer = host().execSink(['tar', '-x', '-C', target]);
      await pipeline(producer.stdout, consumer.stdin);
      expect(await consumer.done).toMatchObject({ exitCode: 0, stderr: '' });
      expect((await producer.done).exitCode).toBe(0);
      expect(await readFile(join(target, 'PG_VERSION'), 'utf8')).toBe('15\n');
      expect((await readFile(join(target, 'base', '1', '1259'))).equals(Buffer.alloc(3 * MiB, 7))).toBe(true);
    });

    test('a command that fails while being fed fails the writer with its stderr, not a bare EPIPE', async () => {
      const sink = host().execSink(['sh', '-c', 'head -c 10 >/dev/null; echo "not a tar archive" >&2; exit 2']);
      const input = Readable.from((function* () {
        for (let i = 0; i < 200; i++) yield Buffer.alloc(64 * 1024, 1);
      })());
      await expect(pipeline(input, sink.stdin)).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('not a tar archive') });
      await expect(sink.done).resolves.toMatchObject({ exitCode: 2 });
    });

    test('a command that succeeds without reading all its input lets the writer finish (tar stops at its end blocks)', async () => {
      const sink = host().execSink(['head', '-c', '10']);
      const input = Readable.from((function* () {
        for (let i = 0; i < 100; i++) yield Buffer.alloc(64 * 1024, 0x61);
      })());
      await pipeline(input, sink.stdin);
      await expect(sink.done).resolves.toEqual({ exitCode: 0, stdout: 'aaaaaaaaaa', stderr: '' });
    });

    test('a writer that fails mid-stream closes the command\'s stdin, so the command ends instead of waiting', async () => {
      const sink = host().execSink(['sh', '-c', 'n=$(wc -c); echo "read $n bytes"; exit 3']);
      const input = new Readable({
        read() {
          this.push(Buffer.alloc(1000, 1));
          this.destroy(new Error('the source failed'));
        },
      });
      await expect(pipeline(input, sink.stdin)).rejects.toThrow('the source failed');
      await expect(sink.done).resolves.toMatchObject({ exitCode: 3, stdout: expect.stringMatching(/^read \d+ bytes/) });
    });

  });
}
