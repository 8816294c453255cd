#!/usr/bin/env bash
# The HTTP API under load: GET /v1/backups?limit=50 over a catalog of 1,000 metadata-only backups in
# a local repository, 50 concurrent clients (autocannon) on 127.0.0.1. Prints requests/s, p50/p99
# latency (target p99 < 50 ms) and the server's RSS. BENCH_API_SECONDS (default 10) sets the length.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${BENCH_API_SECONDS:-10}
cli=$PWD/bin/llm-analytics
autocannon=$PWD/packages/api/node_modules/.bin/autocannon
[[ -f packages/api/dist/server.js && -x $autocannon ]] || { echo "bench api: run scripts/setup.sh first" >&2; exit 1; }

work=$(mktemp -d /tmp/llm-analytics-bench-api.XXXXXX)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1,000 backup.json objects as the CLI writes them (one a minute), written directly for speed.
node --input-type=module - "$work/repo" <<'JS'
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const { newBackupId } = await import(join(process.cwd(), 'packages/core/dist/index.js'));
const repo = process.argv[2];
for (let i = 0; i < 1000; i++) {
  const start = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const id = newBackupId('llm_analytics', start);
  const metadata = { formatVersion: 1, id, database: 'llm_analytics', type: 'Full', status: i % 10 ? 'Completed' : 'Failed',
    startTime: start.toISOString(), endTime: new Date(start.getTime() + 42_000).toISOString(), durationSeconds: 42,
    startLsn: '0/2000028', endLsn: '0/2000100', timeline: 1, postgresVersion: '15.14', location: repo, compression: 'zstd',
    encrypted: true, sizeBytes: 1_073_741_824, storedSizeBytes: 268_435_456, sha256: 'a'.repeat(64), retentionDays: 30,
    objects: [{ key: `backups/${id}/base.tar.zst.enc`, rawSize: 1_073_741_824, storedSize: 268_435_456, sha256: 'a'.repeat(64), frames: [] }] };
  mkdirSync(join(repo, 'backups', id), { recursive: true });
  writeFileSync(join(repo, 'backups', id, 'backup.json'), JSON.stringify(metadata, null, 2));
}
JS

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
token=bench-read-token-$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
BACKUP_API_TOKENS="$token:read" HOME=$work "$cli" serve --port "$port" --repo "$work/repo" 2>"$work/server.log" &
server_pid=$!
url="http://127.0.0.1:$port/v1/backups?limit=50"
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
# The first request reads the 1,000 objects; later ones are served from the catalog index.
first=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$url")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
cpu_before=$(cpu_ticks)
"$autocannon" -c 50 -d "$seconds" -H "Authorization=Bearer $token" --json "$url" >"$work/result.json" 2>/dev/null
cpu_ticks=$(( $(cpu_ticks) - cpu_before ))
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
node - "$work/result.json" "$first" "$rss_kb" "$hwm_kb" "$seconds" "$cpu_ticks" "$(getconf CLK_TCK)" <<'JS'
const [file, first, rss, hwm, seconds, ticks, hz] = process.argv.slice(2);
const r = JSON.parse(require('fs').readFileSync(file, 'utf8'));
const non2xx = r.non2xx + r.errors + r.timeouts;
console.log(`HTTP API: GET /v1/backups?limit=50 over 1,000 backups, 50 clients, ${seconds} s, ${require('os').cpus().length} cores`);
console.log(`  requests/s       ${r.requests.average.toFixed(0)}  (${r.requests.total} requests, ${non2xx} not 2xx/errors)`);
console.log(`  latency p50/p99  ${r.latency.p50} ms / ${r.latency.p99} ms  (target p99 < 50 ms: ${r.latency.p99 < 50 ? 'met' : 'NOT met'})`);
console.log(`  first request    ${(Number(first) * 1000).toFixed(0)} ms (cold: reads every backup.json once)`);
console.log(`  server CPU       ${((ticks / hz) * 1000 / r.requests.total).toFixed(3)} ms per request (independent of other load: ~${Math.round(r.requests.total / (ticks / hz))} req/s per core)`);
console.log(`  load average     ${require('os').loadavg().map((l) => l.toFixed(1)).join(' ')} (the bench shares the cores with whatever else runs)`);
console.log(`  server RSS       ${Math.round(rss / 1024)} MB now, ${Math.round(hwm / 1024)} MB peak`);
JS
