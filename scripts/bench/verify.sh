#!/usr/bin/env bash
# Verify speed: `verify-backup` (no test restore) of a zstd backup, plain and encrypted, next to the
# raw limit measured in the same run on the same stored object:
#   sha256sum object  +  zstd -d -c object > /dev/null      (the two run one after the other)
# verify does both in one read, and on top hashes every file of the tar against backup_manifest.
# BENCH_ROWS (default 1600000, a tar of about 210 MB) sets the size; BENCH_RUNS (default 3) the
# repetitions (median printed). Timings are printed, never asserted. Callable from run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${BENCH_ROWS:-1600000}
runs=${BENCH_RUNS:-3}
cli=$PWD/bin/llm-analytics
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -f packages/cli/dist/commands/database/verify-backup.js ]] || { echo "bench: run scripts/setup.sh first" >&2; exit 1; }

as_db_user() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {print b - a}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
json_field() { node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(process.argv[2].split(".").reduce((o,k)=>o[k],v))' "$1" "$2"; }

work=$(mktemp -d /tmp/llm-analytics-bench-verify.XXXXXX)
chmod 755 "$work"
((EUID == 0)) && chown postgres: "$work"
cleanup() {
  as_db_user "$bin/pg_ctl" -D "$work/source" -m fast stop >/dev/null 2>&1 || true
  if [[ -n ${BENCH_KEEP:-} ]]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(free_port)
echo "bench: loading $rows rows into a fresh PostgreSQL cluster (in $work)" >&2
as_db_user "$bin/initdb" -D "$work/source" -U postgres --auth=trust --no-sync >/dev/null
as_db_user "$bin/pg_ctl" -D "$work/source" -l "$work/source.log" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -w start >/dev/null
as_db_user "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c 'CREATE DATABASE llm_analytics'
as_db_user "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d llm_analytics -v ON_ERROR_STOP=1 -v rows="$rows" -f scripts/bench/data.sql >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres BACKUP_REPO=$work/repo
export BACKUP_ENCRYPTION_PASSPHRASE=bench-only-passphrase
"$cli" database backup --no-encryption --json >"$work/plain.json"
"$cli" database backup --encryption --json >"$work/encrypted.json"
as_db_user "$bin/pg_ctl" -D "$work/source" -m fast stop >/dev/null

object="$work/repo/$(json_field "$work/plain.json" objects.0.key)"
declare -A t
for ((run = 1; run <= runs; run++)); do
  echo "bench: run $run of $runs" >&2
  start=$(now); sha256sum "$object" >/dev/null; zstd -d -q -c "$object" >/dev/null
  t[limit]+="$(since "$start") "
  for mode in plain encrypted; do
    start=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$cli" database verify-backup --backup-id "$(json_field "$work/$mode.json" id)" --no-record --json >"$work/verify-$mode.json" || { cat "$work/verify-$mode.json" >&2; exit 1; }
    t[verify_$mode]+="$(since "$start") "
    t[verify_${mode}_rss]+="$(cat "$work/rss") "
    t[engine_$mode]+="$(json_field "$work/verify-$mode.json" read.seconds) "
  done
done

m() { echo "${t[$1]}" | tr ' ' '\n' | grep . | median; }
raw=$(json_field "$work/plain.json" sizeBytes)
stored=$(json_field "$work/plain.json" storedSizeBytes)
echo
echo "Verify: tar stream $(awk -v b="$raw" 'BEGIN {printf "%.0f MB", b / 1e6}'), stored zstd object $(awk -v b="$stored" 'BEGIN {printf "%.0f MB", b / 1e6}'), median of $runs runs, $(nproc) cores"
printf '%-44s %8s %12s %10s %9s\n' "" seconds "raw MB/s" "vs limit" "peak RSS"
row() { printf '%-44s %8.2f %12.1f %10s %9s\n' "$1" "$2" "$(awk -v b="$raw" -v s="$2" 'BEGIN {print b / 1e6 / s}')" "$3" "$4"; }
row "sha256sum + zstd -d (limit)" "$(m limit)" "1.00" "-"
row "verify-backup, zstd" "$(m verify_plain)" "$(awk -v a="$(m limit)" -v b="$(m verify_plain)" 'BEGIN {printf "%.2f", a / b}')" "$(( $(m verify_plain_rss) / 1024 )) MB"
row "verify-backup, zstd + AES-256-GCM" "$(m verify_encrypted)" "$(awk -v a="$(m limit)" -v b="$(m verify_encrypted)" 'BEGIN {printf "%.2f", a / b}')" "$(( $(m verify_encrypted_rss) / 1024 )) MB"
row "  its read of the object (no CLI start), zstd" "$(m engine_plain)" "$(awk -v a="$(m limit)" -v b="$(m engine_plain)" 'BEGIN {printf "%.2f", a / b}')" "-"
row "  its read of the object, zstd + AES-GCM" "$(m engine_encrypted)" "$(awk -v a="$(m limit)" -v b="$(m engine_encrypted)" 'BEGIN {printf "%.2f", a / b}')" "-"
echo "(verify-backup rows include the CLI's start (node + oclif + metadata + WAL listing); the indented"
echo " rows are the same runs' single pass over the object: stored SHA-256, decrypt, decompress, tar,"
echo " per-file SHA-256. vs limit: 1.00 = as fast. Target >= 0.90.)"
