#!/usr/bin/env node
// TUI responsiveness with a 5,000-backup catalog (metadata only, no storage): the time from the
// catalog being loaded to the first frame that shows it, and the time from a keypress to the next
// frame, over moves, paging, jumps, sorting and typing a filter. Ink runs as in a terminal (its
// normal throttled renderer, 80×24), on in-memory streams. Targets: first render < 500 ms,
// keypress < 30 ms (p95). Printed, never asserted. Needs `pnpm run build`.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

// As `llm-analytics tui` runs it: React's production build (the development build is several times slower).
process.env.NODE_ENV ??= 'production';
const root = resolve(import.meta.dirname, '../..');
const fromTui = createRequire(resolve(root, 'packages/tui/package.json'));
const load = (name) => import(pathToFileURL(fromTui.resolve(name)).href);
const [{ render }, React, { App }] = await Promise.all([load('ink'), load('react'), import(pathToFileURL(resolve(root, 'packages/tui/dist/index.js')).href)]);

const COUNT = Number(process.env.BENCH_TUI_BACKUPS ?? 5000);
const now = new Date('2026-11-25T12:00:00Z');
const backups = Array.from({ length: COUNT }, (_, index) => {
  const start = new Date(now.getTime() - (index + 1) * 3_600_000);
  const database = ['llm_analytics', 'metrics_eu', 'billing'][index % 3];
  const stamp = start.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return {
    formatVersion: 1, id: `backup-${database}-${stamp}-${(0xa00000 + index).toString(16)}`, database, type: 'Full',
    status: index % 11 === 7 ? 'Failed' : 'Completed', startTime: start.toISOString(), endTime: new Date(start.getTime() + 60_000).toISOString(),
    location: '/srv/backups', compression: 'zstd', encrypted: true, sizeBytes: 2e9 + index * 1e6, storedSizeBytes: 4e8 + index * 1e5, objects: [], retentionDays: 30,
  };
});

class Stdout extends EventEmitter {
  columns = 80; rows = 24; isTTY = true; frames = 0; waiters = []; pending = ''; synchronized = false;
  // Ink wraps a frame in synchronized-output marks (?2026h … ?2026l), written as separate chunks.
  write(chunk) {
    const text = String(chunk);
    this.pending += text;
    if (text.includes('\x1b[?2026h')) this.synchronized = true;
    if (this.synchronized && !text.includes('\x1b[?2026l')) return true;
    this.frames += 1; this.last = this.pending; this.pending = '';
    for (const wake of this.waiters.splice(0)) wake();
    return true;
  }
  nextFrame(timeoutMs = 2000) {
    return new Promise((done) => { const timer = setTimeout(() => done(false), timeoutMs); this.waiters.push(() => { clearTimeout(timer); done(true); }); });
  }
}
class Stdin extends EventEmitter {
  isTTY = true; data = null;
  write(data) { this.data = data; this.emit('readable'); this.emit('data', data); }
  read() { const data = this.data; this.data = null; return data; }
  setEncoding() {} setRawMode() {} resume() {} pause() {} ref() {} unref() {}
}

const stdout = new Stdout();
const stdin = new Stdin();
let loadedAt = 0;
const deps = {
  repository: '/srv/backups', database: 'llm_analytics', now: () => now,
  loadCatalog: async () => { loadedAt = performance.now(); return backups; },
  planRestore: async () => { throw new Error('not in the bench'); }, restore: async () => { throw new Error('not in the bench'); }, backup: async () => { throw new Error('not in the bench'); },
};
const instance = render(React.createElement(App, { deps }), { stdout, stdin, stderr: stdout, exitOnCtrlC: false, patchConsole: false });
while (!(stdout.last ?? '').includes(`${COUNT} backups`)) await stdout.nextFrame();
const firstRender = performance.now() - loadedAt;

const pause = (ms) => new Promise((done) => setTimeout(done, ms));
const keys = [
  ...Array(60).fill('j'), ...Array(20).fill('k'), '\x1b[6~', '\x1b[6~', '\x1b[5~', 'G', 'g', ':', '2', '5', '0', '0', '\r',
  's', 's', 's', 's', 's', '/', ...'db:metrics', '\x7f', '\x7f', 's', '\r', 'j', 'j', '\x1b',
];
const latencies = [];
let missed = 0;
let cpuMicros = 0;
for (const key of keys) {
  await pause(40); // past Ink's 32 ms render throttle: measure the work, not the throttle
  const frame = stdout.nextFrame();
  const start = performance.now();
  const cpu = process.cpuUsage();
  stdin.write(key);
  if (await frame) latencies.push(performance.now() - start);
  else missed += 1;
  const used = process.cpuUsage(cpu);
  cpuMicros += used.user + used.system;
}
instance.unmount();
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
console.log(`TUI with ${COUNT} backups in the catalog (80×24, ${keys.length} keypresses)`);
console.log(`  first render after the catalog is loaded  ${firstRender.toFixed(1)} ms   (target < 500 ms)`);
console.log(`  CPU per keypress (this process, user + system)  ${(cpuMicros / keys.length / 1000).toFixed(1)} ms; load average ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores`);
console.log(`  keypress to next frame  p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  max ${at(1)} ms   (target < 30 ms)${missed ? `  [${missed} keys drew nothing]` : ''}`);
