import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zstdBinding from 'zstd-napi/binding.js';
import type { Compression } from '../types/metadata.js';
import { LZ4_FRAME_OPTIONS, ZSTD_FRAME_PARAMETERS } from './codecs.js';
import { MAX_FRAME_SIZE } from './format.js';
import { asDecodeError } from './pipelineErrors.js';

/**
 * Worker threads that compress and decompress frames, so the codec runs beside the main thread
 * (which reads, hashes, encrypts or authenticates, and writes) and frames are coded in parallel.
 *
 * The worker is evaluated from source rather than loaded from a file: the same code then runs
 * from TypeScript sources under vitest and from the compiled package. It loads the native codecs
 * by the absolute paths resolved here, so it does not depend on the process's working directory.
 *
 * Memory: a frame's buffer is transferred (not copied) to the worker, which compresses into its
 * own reused scratch buffer and writes the result back over the raw bytes, then transfers the
 * buffer back. Frame buffers are sized with room for the worst-case expansion (frameCapacity),
 * so a worker allocates nothing per frame. The first version returned a fresh buffer per frame:
 * memory allocated on a worker and dropped on the main thread piled up to ~50 MB of RSS per
 * worker before either side reclaimed it. Decoding follows the same rule: the main thread
 * allocates both the stored frame's copy and the raw buffer (sized from the zstd frame header),
 * and the worker only fills them. Letting the worker allocate the raw buffers raised the peak RSS
 * of a restore from 110 to 260 MB.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const zstd = require(workerData.zstdBindingPath);
const lz4 = require(workerData.lz4Path);
const contexts = new Map();
let scratch = Buffer.alloc(0);
function zstdCompress(level, raw) {
  let cctx = contexts.get(level);
  if (!cctx) {
    cctx = new zstd.CCtx();
    for (const [name, value] of Object.entries(workerData.zstdParameters)) cctx.setParameter(zstd.CParameter[name], Number(value));
    cctx.setParameter(zstd.CParameter.compressionLevel, level);
    contexts.set(level, cctx);
  }
  const bound = zstd.compressBound(raw.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(bound);
  return scratch.subarray(0, cctx.compress2(scratch, raw));
}
let dctx;
function zstdDecodeUnsized(stored) {
  const stream = new zstd.DCtx();
  const parts = [];
  let total = 0;
  let input = stored;
  for (;;) {
    const out = Buffer.allocUnsafe(1024 * 1024);
    const [remaining, produced, consumed] = stream.decompressStream(out, input);
    parts.push(out.subarray(0, produced));
    total += produced;
    if (total > workerData.maxFrameSize) throw new Error('frame larger than any frame this tool writes');
    input = input.subarray(consumed);
    if (input.length === 0 && produced < out.length) {
      if (remaining !== 0) throw new Error('truncated frame');
      const raw = Buffer.allocUnsafeSlow(total);
      Buffer.concat(parts, total).copy(raw);
      return raw;
    }
  }
}
// Decodes one zstd frame into the caller's buffer, sized from the frame header by the main thread.
// Without one (the header records no content size, which our writer always does), it allocates.
function zstdDecode(stored, output) {
  if (!output) return zstdDecodeUnsized(stored);
  dctx ??= new zstd.DCtx();
  const raw = Buffer.from(output);
  if (dctx.decompress(raw, stored) !== raw.length) throw new Error('frame shorter than its recorded content size');
  return raw;
}
function encode(compression, level, raw) {
  switch (compression) {
    case 'zstd': return zstdCompress(level, raw);
    case 'gzip': return zlib.gzipSync(raw, { level });
    case 'lz4': return lz4.compressFrameSync(raw, workerData.lz4Options);
    case 'none': return raw;
  }
  throw new Error('unknown compression ' + compression);
}
parentPort.on('message', ({ id, op, compression, level, memory, length, output }) => {
  if (op === 'decode') {
    try {
      const raw = zstdDecode(Buffer.from(memory, 0, length), output);
      parentPort.postMessage({ id, memory, output: raw.buffer, length: raw.length }, [memory, raw.buffer]);
    } catch (error) {
      parentPort.postMessage({ id, memory, error: String((error && error.message) || error) }, [memory]);
    }
    return;
  }
  const reply = { id, memory };
  try {
    const whole = Buffer.from(memory);
    const stored = encode(compression, level, whole.subarray(0, length));
    if (stored.length > whole.length) throw new Error('compressed frame larger than its buffer');
    if (stored.buffer !== memory) stored.copy(whole);
    reply.storedLength = stored.length;
  } catch (error) {
    reply.error = String((error && error.message) || error);
  }
  parentPort.postMessage(reply, [memory]);
});
`;

/** One frame for a worker: the message, the memory it transfers, and how its reply settles. */
interface Task {
  request: { op: 'encode' | 'decode'; compression: Compression; level: number; length: number };
  memory: ArrayBuffer;
  /** decode: the buffer the raw frame is written into, when its size is known. */
  output?: ArrayBuffer;
  settle: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

interface WorkerReply {
  id: number;
  memory?: ArrayBuffer;
  /** encode: the compressed length written over the frame's memory. */
  storedLength?: number;
  /** decode: the buffer holding the raw frame, and its length. */
  output?: ArrayBuffer;
  length?: number;
  error?: string;
}

export interface EncodedFrame {
  stored: Buffer;
  /** The frame's memory, handed back for reuse. `stored` may be a view into it: copy first. */
  memory: ArrayBuffer;
}

interface PoolWorker {
  worker: Worker;
  task?: Task;
}

const IDLE_SHUTDOWN_MS = 30_000;

/** Room for a frame and for its compressed form: zstd, gzip, LZ4 expand by < 1/128 + a constant. */
export function frameCapacity(frameSize: number): number {
  return frameSize + Math.ceil(frameSize / 128) + 64 * 1024;
}

/**
 * Compressions whose frames the workers decode: zstd, the default and the slowest to decode. LZ4
 * decodes at several GB/s inline; gzip members carry no length to cut them by.
 */
export function decodesOnWorkers(compression: Compression): compression is 'zstd' {
  return compression === 'zstd';
}

/** The raw size a zstd frame header records, if it records one within the frame size limit. */
function zstdContentSize(frame: Buffer): number | undefined {
  try {
    const size = zstdBinding.getFrameContentSize(frame);
    return size !== null && size <= MAX_FRAME_SIZE ? size : undefined;
  } catch {
    return undefined; // not a valid header: the worker reports it
  }
}

export class CodecPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly modules: { zstdBindingPath: string; lz4Path: string };

  constructor(readonly size: number) {
    const require = createRequire(import.meta.url);
    this.modules = { zstdBindingPath: require.resolve('zstd-napi/binding.js'), lz4Path: require.resolve('lz4-napi') };
  }

  /**
   * Compresses one frame on a worker. `frame` must start at offset 0 of an ArrayBuffer of at
   * least frameCapacity(frame.length) bytes that nothing else uses: it is detached while the
   * worker has it, and comes back holding the compressed frame.
   */
  encode(compression: Compression, level: number, frame: Buffer): Promise<EncodedFrame> {
    if (frame.byteOffset !== 0 || frame.buffer.byteLength < frameCapacity(frame.length)) {
      return Promise.reject(new Error('a pooled frame needs a buffer of its own with room for expansion'));
    }
    return new Promise((resolve, reject) => {
      const settle = (reply: WorkerReply): void => {
        if (reply.error !== undefined || reply.storedLength === undefined || !reply.memory) reject(new Error(`frame compression failed: ${reply.error}`));
        else resolve({ stored: Buffer.from(reply.memory, 0, reply.storedLength), memory: reply.memory });
      };
      this.submit({ request: { op: 'encode', compression, level, length: frame.length }, memory: frame.buffer as ArrayBuffer, settle, reject });
    });
  }

  /**
   * Decompresses one whole stored zstd frame on a worker (the caller cut it, see frameSplitter.ts)
   * and returns its raw bytes. A codec failure is DATA_CORRUPT.
   */
  decode(compression: 'zstd', stored: Buffer): Promise<Buffer> {
    const own = Buffer.allocUnsafeSlow(stored.length);
    stored.copy(own);
    const rawLength = zstdContentSize(stored);
    const output = rawLength === undefined ? undefined : (Buffer.allocUnsafeSlow(rawLength).buffer as ArrayBuffer);
    return new Promise((resolve, reject) => {
      const settle = (reply: WorkerReply): void => {
        if (reply.error !== undefined || reply.length === undefined || !reply.output) reject(asDecodeError(new Error(reply.error), `as ${compression}`));
        else resolve(Buffer.from(reply.output, 0, reply.length));
      };
      this.submit({ request: { op: 'decode', compression, level: 0, length: own.length }, memory: own.buffer as ArrayBuffer, output, settle, reject });
    });
  }

  /** Stops all workers; queued and running frames fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers.splice(0);
    for (const task of this.queue.splice(0)) task.reject(new Error('codec pool closed'));
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  private submit(task: Task): void {
    this.queue.push(task);
    this.dispatch();
  }

  private dispatch(): void {
    clearTimeout(this.idleTimer);
    while (this.queue.length > 0) {
      const idle = this.workers.find((candidate) => !candidate.task) ?? this.spawn();
      if (!idle) return;
      const task = this.queue.shift() as Task;
      idle.task = task;
      // A busy worker keeps the process alive (the caller awaits it); an idle one must not.
      idle.worker.ref();
      const transfer = task.output ? [task.memory, task.output] : [task.memory];
      idle.worker.postMessage({ id: this.nextId++, ...task.request, memory: task.memory, output: task.output }, transfer);
    }
    if (this.workers.length > 0 && this.workers.every((candidate) => !candidate.task)) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_SHUTDOWN_MS);
      this.idleTimer.unref();
    }
  }

  private spawn(): PoolWorker | undefined {
    if (this.workers.length >= this.size) return undefined;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...this.modules, zstdParameters: ZSTD_FRAME_PARAMETERS, lz4Options: LZ4_FRAME_OPTIONS, maxFrameSize: MAX_FRAME_SIZE },
    });
    const entry: PoolWorker = { worker };
    worker.on('message', (reply: WorkerReply) => this.onReply(entry, reply));
    const fail = (error: Error): void => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      entry.task?.reject(error);
      entry.task = undefined;
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`codec worker exited with code ${code}`)));
    this.workers.push(entry);
    return entry;
  }

  private onReply(entry: PoolWorker, reply: WorkerReply): void {
    const task = entry.task;
    entry.task = undefined;
    entry.worker.unref();
    task?.settle(reply);
    this.dispatch();
  }
}

let shared: CodecPool | undefined;

/** Two workers at most: on the 2-core machines we target the producer needs the other core. */
export function defaultPoolSize(): number {
  return Math.min(2, availableParallelism());
}

/** The process-wide pool, created on first use; idle workers exit after 30 s. */
export function sharedCodecPool(): CodecPool {
  shared ??= new CodecPool(defaultPoolSize());
  return shared;
}
