import { randomBytes } from 'node:crypto';
import { asBackupError, type BackupError, type ProgressEvent, type VerificationCheck } from '@llm-analytics/core';

/**
 * The in-memory job registry: every long operation the API starts (backup, restore, verify) is a
 * job with a state, its core progress events buffered with increasing ids (so an SSE client that
 * reconnects with Last-Event-ID resumes without losing events) and an AbortController that every
 * core engine honours. Jobs live as long as the process: the repository stays the source of truth
 * for backups; a job is only the live view of one operation.
 */
export type JobKind = 'backup' | 'restore' | 'verify';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export interface JobEvent {
  id: number;
  /** SSE event name: "state", "progress", "check" (verify: one row of the check table), "result" or "error". */
  type: 'state' | 'progress' | 'check' | 'result' | 'error';
  data: unknown;
}

export interface Job {
  id: string;
  kind: JobKind;
  state: JobState;
  /** The database it works on (backup lock, 409 checks). */
  database: string;
  params: Record<string, unknown>;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  result?: unknown;
  error?: ReturnType<BackupError['toJSON']>;
  /** The last progress event, for GET /v1/jobs/{id}. */
  progress?: ProgressEvent & { rateBytesPerSecond?: number; etaSeconds?: number };
}

/** Progress events kept per job for resume; older progress events are dropped beyond this. */
const MAX_BUFFERED_EVENTS = 2000;

interface JobEntry {
  job: Job;
  events: JobEvent[];
  nextEventId: number;
  controller: AbortController;
  listeners: Set<() => void>;
  done: Promise<void>;
  rate?: { at: number; bytes: number; phase: string };
}

export type JobRunner = (context: {
  signal: AbortSignal;
  jobId: string;
  progress: (event: ProgressEvent) => void;
  /** A verify job's check row, once final: sent as a `check` event (kept for resume like every non-progress event). */
  check: (row: VerificationCheck) => void;
}) => Promise<unknown>;

export class JobRegistry {
  private readonly jobs = new Map<string, JobEntry>();
  private readonly finishedCounts = new Map<string, number>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Starts `run` on the next tick; the job is queued until then. */
  start(kind: JobKind, database: string, params: Record<string, unknown>, run: JobRunner): Job {
    const id = `job-${this.now().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomBytes(4).toString('hex')}`;
    const job: Job = { id, kind, state: 'queued', database, params, createdAt: this.now().toISOString() };
    let resolveDone!: () => void;
    const entry: JobEntry = { job, events: [], nextEventId: 1, controller: new AbortController(), listeners: new Set(), done: new Promise((r) => (resolveDone = r)) };
    this.jobs.set(id, entry);
    this.emit(entry, 'state', { state: 'queued' });
    setImmediate(() => void this.execute(entry, run).finally(resolveDone));
    return job;
  }

  private async execute(entry: JobEntry, run: JobRunner): Promise<void> {
    const { job } = entry;
    if (entry.controller.signal.aborted) return this.finish(entry, 'cancelled', undefined, asBackupError(Object.assign(new Error('cancelled'), { name: 'AbortError' })));
    job.state = 'running';
    job.startedAt = this.now().toISOString();
    this.emit(entry, 'state', { state: 'running' });
    try {
      const result = await run({ signal: entry.controller.signal, jobId: job.id, progress: (event) => this.progress(entry, event), check: (row) => this.emit(entry, 'check', row) });
      this.finish(entry, 'succeeded', result);
    } catch (caught) {
      const error = asBackupError(caught);
      const cancelled = entry.controller.signal.aborted || error.code === 'CANCELLED';
      this.finish(entry, cancelled ? 'cancelled' : 'failed', undefined, error);
    }
  }

  private progress(entry: JobEntry, event: ProgressEvent): void {
    const at = Date.now();
    const enriched: Job['progress'] = { ...event };
    if (event.bytes !== undefined) {
      const last = entry.rate;
      if (last && last.phase === event.phase && at > last.at && event.bytes >= last.bytes) {
        const rate = ((event.bytes - last.bytes) * 1000) / (at - last.at);
        enriched.rateBytesPerSecond = Math.round(rate);
        if (event.totalBytes && rate > 0) enriched.etaSeconds = Math.max(0, Math.round((event.totalBytes - event.bytes) / rate));
      }
      if (!last || last.phase !== event.phase || at - last.at >= 1000) entry.rate = { at, bytes: event.bytes, phase: event.phase };
    }
    entry.job.progress = enriched;
    this.emit(entry, 'progress', enriched);
  }

  private finish(entry: JobEntry, state: JobState, result?: unknown, error?: BackupError): void {
    const { job } = entry;
    job.state = state;
    job.endedAt = this.now().toISOString();
    if (result !== undefined) job.result = result;
    if (error) job.error = error.toJSON();
    const key = `${job.kind}\u0000${state}`;
    this.finishedCounts.set(key, (this.finishedCounts.get(key) ?? 0) + 1);
    if (error) this.emit(entry, 'error', { state, error: job.error });
    else this.emit(entry, 'result', { state, result });
  }

  private emit(entry: JobEntry, type: JobEvent['type'], data: unknown): void {
    entry.events.push({ id: entry.nextEventId++, type, data });
    if (entry.events.length > MAX_BUFFERED_EVENTS) {
      const index = entry.events.findIndex((event) => event.type === 'progress');
      if (index >= 0) entry.events.splice(index, 1);
    }
    for (const listener of entry.listeners) listener();
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id)?.job;
  }

  list(): Job[] {
    return [...this.jobs.values()].map((entry) => entry.job).reverse();
  }

  /** The running or queued job of that kind on that database, if any. */
  active(kind: JobKind, database: string): Job | undefined {
    return this.list().find((job) => job.kind === kind && job.database === database && isActive(job));
  }

  activeJobs(): Job[] {
    return this.list().filter(isActive);
  }

  /** Requests cancellation; the job ends cancelled once its engine has cleaned up. */
  cancel(id: string): boolean {
    const entry = this.jobs.get(id);
    if (!entry || !isActive(entry.job)) return false;
    entry.controller.abort();
    return true;
  }

  /** Events after `afterId`, then every new one until the job ends; ends with the job. */
  async *follow(id: string, afterId = 0, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const entry = this.jobs.get(id);
    if (!entry) return;
    let cursor = afterId;
    for (;;) {
      for (const event of entry.events) {
        if (event.id > cursor) {
          cursor = event.id;
          yield event;
        }
      }
      if (!isActive(entry.job) || signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          entry.listeners.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        entry.listeners.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Resolves when every job that is active now has ended, or after timeoutMs; true if all ended. */
  async waitForActive(timeoutMs: number): Promise<boolean> {
    const pending = [...this.jobs.values()].filter((entry) => isActive(entry.job)).map((entry) => entry.done);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const all = Promise.all(pending).then(() => true as const);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private openStreams = 0;
  private streamsDrained: (() => void)[] = [];

  /** Event streams being written (SSE): shutdown lets them send their last event. */
  trackStream<T>(stream: Promise<T>): Promise<T> {
    this.openStreams++;
    return stream.finally(() => {
      this.openStreams--;
      if (this.openStreams === 0) for (const resolve of this.streamsDrained.splice(0)) resolve();
    });
  }

  async waitForStreams(timeoutMs: number): Promise<void> {
    if (this.openStreams === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.streamsDrained.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  cancelAll(): void {
    for (const job of this.activeJobs()) this.cancel(job.id);
  }

  /** Finished jobs by kind and state since the process started (metrics). */
  finishedTotals(): { kind: string; state: string; count: number }[] {
    return [...this.finishedCounts].map(([key, count]) => {
      const [kind, state] = key.split('\u0000') as [string, string];
      return { kind, state, count };
    });
  }
}

export function isActive(job: Job): boolean {
  return job.state === 'queued' || job.state === 'running';
}
