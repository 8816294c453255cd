import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zstdBinding from 'zstd-napi/binding.js';
import type { Compression } from '../types/metadata.js';
import { LZ4_FRAME_OPTIONS, ZSTD_FRAME_PARAMETERS } from './codecs.js';
import { DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE } from './format.js';
import { asDecodeError } from './pipelineErrors.js';

/**
 * Worker threads that compress and decompress frames, so the codec runs beside the main thread
 * (which reads, hashes, encrypts or authenticates, and writes) and frames are coded in parallel.
 *
 * The worker is evaluated from source rather than loaded from a file: the same code then runs
 * from TypeScript sources under vitest and from the compiled package. It loads the native codecs
 * by the absolute paths resolved here, so it does not depend on the process's working directory.
 *
 * Memory: each worker owns one SharedArrayBuffer "slot", sent to it once (again only when a larger
 * frame needs a larger slot): input in the first half, output in the second. The main thread copies
 * a frame into the slot of the worker that takes it, and copies the result out when it is done;
 * messages carry only numbers. Two copies can be skipped: a frame writer's frames in
 * sharedFrameMemory are read in place, and decodeInPlace leaves the raw bytes in the slot for a
 * consumer that is done with them at once. Two earlier designs moved the frame's memory itself: transferring an
 * ArrayBuffer (or posting a SharedArrayBuffer) registers it as newly allocated external memory on
 * the receiving side every time, and V8 answered with full garbage collections: 63 during a 780 MB
 * backup of 93 frames, their marking threads using about as much CPU as the compression (20 with
 * slots). Copying 10 MB per frame costs a few milliseconds.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const zstd = require(workerData.zstdBindingPath);
const lz4 = require(workerData.lz4Path);
const contexts = new Map();
let input = Buffer.alloc(0);
let output = Buffer.alloc(0);
function zstdContext(level) {
  let cctx = contexts.get(level);
  if (!cctx) {
    cctx = new zstd.CCtx();
    for (const [name, value] of Object.entries(workerData.zstdParameters)) cctx.setParameter(zstd.CParameter[name], Number(value));
    cctx.setParameter(zstd.CParameter.compressionLevel, level);
    contexts.set(level, cctx);
  }
  return cctx;
}
// Compresses the slot's input into its output; returns the stored length.
function encode(compression, level, raw) {
  switch (compression) {
    case 'zstd': return zstdContext(level).compress2(output, raw);
    case 'gzip': return zlib.gzipSync(raw, { level }).copy(output);
    case 'lz4': return lz4.compressFrameSync(raw, workerData.lz4Options).copy(output);
    case 'none': return raw.copy(output);
  }
  throw new Error('unknown compression ' + compression);
}
function zstdDecodeUnsized(stored) {
  const stream = new zstd.DCtx();
  const parts = [];
  let total = 0;
  let rest = stored;
  for (;;) {
    const out = Buffer.allocUnsafe(1024 * 1024);
    const [remaining, produced, consumed] = stream.decompressStream(out, rest);
    parts.push(out.subarray(0, produced));
    total += produced;
    if (total > workerData.maxFrameSize) throw new Error('frame larger than any frame this tool writes');
    rest = rest.subarray(consumed);
    if (rest.length === 0 && produced < out.length) {
      if (remaining !== 0) throw new Error('truncated frame');
      const raw = Buffer.allocUnsafeSlow(total);
      Buffer.concat(parts, total).copy(raw);
      return raw;
    }
  }
}
let dctx;
// Decodes one zstd frame into the slot's output, its size known from the frame header (our writer
// always records it). Without one, the raw bytes come back in a buffer of their own.
function decode(stored, rawLength) {
  if (rawLength === undefined) return { raw: zstdDecodeUnsized(stored) };
  dctx ??= new zstd.DCtx();
  if (dctx.decompress(output.subarray(0, rawLength), stored) !== rawLength) throw new Error('frame shorter than its recorded content size');
  return { length: rawLength };
}
// Frame buffers of a writer that this worker reads in place (sent once each, see sharedFrameMemory).
const sharedFrames = new Map();
parentPort.on('message', ({ id, op, compression, level, length, rawLength, slot, half, frameId, frame, forget }) => {
  if (op === 'forget') {
    for (const key of forget) sharedFrames.delete(key);
    return;
  }
  if (slot) {
    input = Buffer.from(slot, 0, half);
    output = Buffer.from(slot, half, half);
  }
  if (frame) sharedFrames.set(frameId, Buffer.from(frame));
  try {
    const bytes = (frameId === undefined ? input : sharedFrames.get(frameId)).subarray(0, length);
    if (op === 'encode') {
      const storedLength = encode(compression, level, bytes);
      if (storedLength > output.length) throw new Error('compressed frame larger than its buffer');
      parentPort.postMessage({ id, length: storedLength });
      return;
    }
    const { raw, length: decoded } = decode(bytes, rawLength);
    if (raw) parentPort.postMessage({ id, length: raw.length, raw: raw.buffer }, [raw.buffer]);
    else parentPort.postMessage({ id, length: decoded });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

/** One frame for a worker: its bytes, how large the result may be, and how the reply settles. */
interface Task {
  request: { op: 'encode' | 'decode'; compression: Compression; level: number; rawLength?: number };
  /** The frame to code; held (not copied) until a worker takes it. */
  bytes: Buffer;
  /** Room the result needs in the slot's output half. */
  outputRoom: number;
  /** `bytes` lies in frame memory the workers read in place (sharedFrameMemory): not copied. */
  sharedFrameId?: number;
  settle: (reply: WorkerReply, output: Buffer, worker: PoolWorker) => void;
  reject: (error: Error) => void;
}

interface WorkerReply {
  id: number;
  /** The result's length in the slot's output half (or in `raw`). */
  length?: number;
  /** decode without a recorded content size: the raw bytes, transferred. */
  raw?: ArrayBuffer;
  error?: string;
}

/** A decoded frame; see CodecPool.decodeInPlace. */
export interface DecodedFrame {
  bytes: Buffer;
  /** True when `bytes` has memory of its own (a frame without a recorded size). */
  owned: boolean;
  /** Hands the worker's slot back; `bytes` must not be read after this unless owned. */
  release(): void;
}

export interface EncodedFrame {
  stored: Buffer;
  /** The frame's memory, handed back for reuse. `stored` may be a view into it: copy first. */
  memory: ArrayBufferLike;
}

interface PoolWorker {
  worker: Worker;
  task?: Task;
  /** A decoded frame still in the slot, not yet released by its consumer. */
  held?: boolean;
  /** Ids of the shared frame buffers this worker has been sent. */
  knownFrames: Set<number>;
  /** The worker's shared slot: input in [0, half), output in [half, 2 * half). */
  input?: Buffer;
  output?: Buffer;
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
  private readonly frameIds = new WeakMap<SharedArrayBuffer, number>();
  private nextFrameId = 0;

  constructor(readonly size: number) {
    const require = createRequire(import.meta.url);
    this.modules = { zstdBindingPath: require.resolve('zstd-napi/binding.js'), lz4Path: require.resolve('lz4-napi') };
  }

  /**
   * Memory for a frame writer's frames that the workers read in place: a frame filled here is
   * compressed without being copied into a worker's slot first (for a backup, 780 MB fewer bytes
   * copied on the main thread). Each worker is sent it once; forgetFrameMemory lets it go.
   */
  sharedFrameMemory(bytes: number): SharedArrayBuffer {
    const memory = new SharedArrayBuffer(bytes);
    this.frameIds.set(memory, this.nextFrameId++);
    return memory;
  }

  /** The workers drop their references to these frame buffers (their writer is done). */
  forgetFrameMemory(memories: readonly SharedArrayBuffer[]): void {
    const ids = memories.map((memory) => this.frameIds.get(memory)).filter((id): id is number => id !== undefined);
    for (const entry of this.workers) {
      const known = ids.filter((id) => entry.knownFrames.delete(id));
      if (known.length > 0) entry.worker.postMessage({ op: 'forget', forget: known });
    }
  }

  /**
   * Compresses one frame on a worker. `frame` must start at offset 0 of an ArrayBuffer (or of
   * sharedFrameMemory) of at least frameCapacity(frame.length) bytes, left untouched until the
   * promise settles: the compressed frame is written over it.
   */
  encode(compression: Compression, level: number, frame: Buffer): Promise<EncodedFrame> {
    if (frame.byteOffset !== 0 || frame.buffer.byteLength < frameCapacity(frame.length)) {
      return Promise.reject(new Error('a pooled frame needs a buffer of its own with room for expansion'));
    }
    return new Promise((resolve, reject) => {
      const settle = (reply: WorkerReply, output: Buffer): void => {
        if (reply.error !== undefined || reply.length === undefined) {
          reject(new Error(`frame compression failed: ${reply.error}`));
          return;
        }
        const memory = frame.buffer;
        output.copy(Buffer.from(memory), 0, 0, reply.length);
        resolve({ stored: Buffer.from(memory, 0, reply.length), memory });
      };
      const sharedFrameId = frame.buffer instanceof SharedArrayBuffer ? this.frameIds.get(frame.buffer) : undefined;
      this.submit({ request: { op: 'encode', compression, level }, bytes: frame, outputRoom: frameCapacity(frame.length), sharedFrameId, settle, reject });
    });
  }

  /**
   * Decompresses one whole stored zstd frame on a worker (the caller cut it, see frameSplitter.ts)
   * and returns its raw bytes in a buffer of their own. A codec failure is DATA_CORRUPT.
   */
  async decode(compression: 'zstd', stored: Buffer): Promise<Buffer> {
    const frame = await this.decodeInPlace(compression, stored);
    try {
      return frame.owned ? frame.bytes : Buffer.from(frame.bytes);
    } finally {
      frame.release();
    }
  }

  /**
   * Like decode, but the raw bytes are left where the worker wrote them, in its slot: `bytes` is
   * valid until `release()`, and the worker takes no other frame until then. For consumers that
   * are done with a frame as soon as they have seen it (restore writing files, verify hashing
   * them): the copy out of the slot, and a fresh buffer per frame, are saved.
   */
  decodeInPlace(compression: 'zstd', stored: Buffer): Promise<DecodedFrame> {
    const rawLength = zstdContentSize(stored);
    return new Promise((resolve, reject) => {
      const settle = (reply: WorkerReply, output: Buffer, entry: PoolWorker): void => {
        if (reply.error !== undefined || reply.length === undefined) {
          reject(asDecodeError(new Error(reply.error), `as ${compression}`));
        } else if (reply.raw) {
          resolve({ bytes: Buffer.from(reply.raw, 0, reply.length), owned: true, release: () => {} });
        } else {
          entry.held = true;
          resolve({ bytes: output.subarray(0, reply.length), owned: false, release: once(() => this.releaseSlot(entry)) });
        }
      };
      this.submit({ request: { op: 'decode', compression, level: 0, rawLength }, bytes: stored, outputRoom: rawLength ?? 0, settle, reject });
    });
  }

  /**
   * Starts every worker now, idle: a worker takes ~60 ms to boot (a thread, the native codecs),
   * which the first frame of a restore or verify would otherwise wait for. Idle workers do not
   * keep the process alive and exit after 30 s unused.
   */
  prestart(): void {
    for (let entry = this.spawn(); entry; entry = this.spawn()) entry.worker.unref();
    this.dispatch();
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
      const idle = this.workers.find((candidate) => !candidate.task && !candidate.held) ?? this.spawn();
      if (!idle) return;
      const task = this.queue.shift() as Task;
      idle.task = task;
      // A busy worker keeps the process alive (the caller awaits it); an idle one must not.
      idle.worker.ref();
      const inPlace = task.sharedFrameId !== undefined;
      const grown = this.fitSlot(idle, inPlace ? task.outputRoom : Math.max(task.bytes.length, task.outputRoom));
      let frame: { frameId?: number; frame?: SharedArrayBuffer } = {};
      if (!inPlace) task.bytes.copy(idle.input as Buffer);
      else if (idle.knownFrames.has(task.sharedFrameId as number)) frame = { frameId: task.sharedFrameId };
      else {
        idle.knownFrames.add(task.sharedFrameId as number);
        frame = { frameId: task.sharedFrameId, frame: task.bytes.buffer as SharedArrayBuffer };
      }
      idle.worker.postMessage({ id: this.nextId++, ...task.request, length: task.bytes.length, ...grown, ...frame });
    }
    if (this.workers.length > 0 && this.workers.every((candidate) => !candidate.task && !candidate.held)) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_SHUTDOWN_MS);
      this.idleTimer.unref();
    }
  }

  /** Makes sure the worker's slot holds `bytes` each way; a new slot is sent along with the task. */
  private fitSlot(entry: PoolWorker, bytes: number): { slot?: SharedArrayBuffer; half?: number } {
    if (entry.input && entry.input.length >= bytes) return {};
    const half = Math.max(bytes, frameCapacity(DEFAULT_FRAME_SIZE));
    const slot = new SharedArrayBuffer(2 * half);
    entry.input = Buffer.from(slot, 0, half);
    entry.output = Buffer.from(slot, half, half);
    return { slot, half };
  }

  private spawn(): PoolWorker | undefined {
    if (this.workers.length >= this.size) return undefined;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...this.modules, zstdParameters: ZSTD_FRAME_PARAMETERS, lz4Options: LZ4_FRAME_OPTIONS, maxFrameSize: MAX_FRAME_SIZE },
    });
    const entry: PoolWorker = { worker, knownFrames: new Set() };
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
    // Settling may hold the slot (decodeInPlace): then the worker waits for releaseSlot.
    task?.settle(reply, entry.output as Buffer, entry);
    this.dispatch();
  }

  private releaseSlot(entry: PoolWorker): void {
    entry.held = false;
    this.dispatch();
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
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
