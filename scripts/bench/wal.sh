#!/usr/bin/env bash
# WAL archiving speed: segments/s of `wal-push` and `wal-fetch` run once per segment, sequentially,
# as PostgreSQL's archive_command / restore_command run them, next to `cp` of the same files.
# wal-fetch without prefetch (--prefetch 0), with it (the default: a background prefetcher keeps
# the next 8 segments ready; the loop asks faster than it fetches, so this is its own throughput),
# and served from a spool already filled (the cost of one call served from the spool).
# Real WAL: a fresh cluster writes WAL_SEGMENTS (default 32) segments of inserts, archived by cp.
# Repository: a local directory (fs); zstd, with and without AES-256-GCM. Printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
segments=${WAL_SEGMENTS:-32}
cli=$PWD/bin/llm-analytics
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
source scripts/bench/lib.sh
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%8.2f %10.1f", b - a, n / (b - a)}'; }

work=$(mktemp -d /tmp/llm-analytics-walbench.XXXXXX)
chmod 755 "$work"; ((EUID == 0)) && chown postgres: "$work"
cleanup() { as_db_user "$bin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(free_port)
as_db_user mkdir "$work/cp-archive"
as_db_user "$bin/initdb" -D "$work/pg" -U postgres --auth=trust --no-sync >/dev/null
as_db_user "$bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c archive_mode=on -c archive_command='cp %p $work/cp-archive/%f' -c max_wal_size=4GB" >/dev/null
psql_() { as_db_user "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
echo "wal bench: writing $segments WAL segments (in $work)" >&2
psql_ -c 'CREATE TABLE w (id bigint, t timestamptz, v double precision, s text)'
while (( $(ls "$work/cp-archive" | grep -c '^[0-9A-F]\{24\}$' || true) < segments )); do
  psql_ -c "INSERT INTO w SELECT g, now(), random(), md5(g::text) FROM generate_series(1, 200000) g" -c 'SELECT pg_switch_wal()' >/dev/null
  sleep 0.2
done
as_db_user "$bin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null
mkdir -p "$work/in" && ls "$work/cp-archive" | grep '^[0-9A-F]\{24\}$' | head -n "$segments" | while read -r f; do cp "$work/cp-archive/$f" "$work/in/$f"; done
files=$(ls "$work/in")
n=$(echo "$files" | wc -l)

printf '\nWAL: %d segments of 16 MiB, sequential, one process per segment, %s cores, local directory repository\n' "$n" "$(nproc)"
printf '%-40s %8s %10s\n' "" seconds "segments/s"
mkdir -p "$work/cp-out"
start=$(now); for f in $files; do cp "$work/in/$f" "$work/cp-out/$f"; done
printf '%-40s %s\n' "cp (limit)" "$(rate "$n" "$start" "$(now)")"
for mode in plain encrypted; do
  export BACKUP_REPO=$work/repo-$mode
  flags=(--no-encryption); label=zstd; [[ $mode == encrypted ]] && { export BACKUP_ENCRYPTION_PASSPHRASE=bench-only; flags=(); label='zstd + AES-256-GCM'; }
  start=$(now); for f in $files; do "$cli" database wal-push "${flags[@]}" --system-id 1 --pgdata "$work/in" "$f"; done
  printf '%-40s %s\n' "wal-push, $label" "$(rate "$n" "$start" "$(now)")"
  mkdir -p "$work/fetch-$mode"
  start=$(now); for f in $files; do "$cli" database wal-fetch --prefetch 0 --system-id 1 "$f" "$work/fetch-$mode/$f"; done
  printf '%-40s %s\n' "wal-fetch, $label" "$(rate "$n" "$start" "$(now)")"
  for f in $files; do cmp -s "$work/in/$f" "$work/fetch-$mode/$f" || { echo "wal bench: $f differs after push+fetch" >&2; exit 1; }; done
done
# Prefetch, from the encrypted repository (the previous loop's settings).
mkdir -p "$work/prefetch"
start=$(now); for f in $files; do "$cli" database wal-fetch --system-id 1 "$f" "$work/prefetch/$f"; done
printf '%-40s %s\n' "wal-fetch, prefetch 8 (default), AES" "$(rate "$n" "$start" "$(now)")"
for f in $files; do cmp -s "$work/in/$f" "$work/prefetch/$f" || { echo "wal bench: $f differs after prefetch" >&2; exit 1; }; done
rm -rf "$work/prefetch"; mkdir -p "$work/prefetch"
first=$(echo "$files" | head -n 1); rest=$(echo "$files" | tail -n +2)
"$cli" database wal-fetch --prefetch 64 --system-id 1 "$first" "$work/prefetch/$first"
spool() { ls "$work"/prefetch/.llm-analytics-prefetch/*/ 2>/dev/null | grep -c '^[0-9A-F]\{24\}\.' || true; }
for ((i = 0; i < 600 && $(spool) < n - 1; i++)); do sleep 0.1; done
start=$(now); for f in $rest; do "$cli" database wal-fetch --prefetch 64 --system-id 1 "$f" "$work/prefetch/$f"; done
printf '%-40s %s\n' "wal-fetch, served from a filled spool" "$(rate "$((n - 1))" "$start" "$(now)")"
for f in $files; do cmp -s "$work/in/$f" "$work/prefetch/$f" || { echo "wal bench: $f differs after prefetch" >&2; exit 1; }; done
rm -rf "$work/prefetch"
# Push-ahead: as PostgreSQL's archiver does, every segment is .ready and each call is for the oldest.
export BACKUP_REPO=$work/repo-ahead BACKUP_ENCRYPTION_PASSPHRASE=bench-only
mkdir -p "$work/in/archive_status"; for f in $files; do touch "$work/in/archive_status/$f.ready"; done
start=$(now); for f in $files; do
  "$cli" database wal-push --parallel 4 --spool "$work/spool" --system-id 1 --pgdata "$work/in" "$f" 2>/dev/null
  mv "$work/in/archive_status/$f.ready" "$work/in/archive_status/$f.done"
done
printf '%-40s %s\n' "wal-push --parallel 4, zstd + AES" "$(rate "$n" "$start" "$(now)")"
start=$(now); for f in $files; do node -e 0; done
printf '%-40s %s\n' "node -e 0 (process start-up floor)" "$(rate "$n" "$start" "$(now)")"
stored=$(du -sb "$work/repo-encrypted/wal" | cut -f1)
echo "(stored $(awk -v s="$stored" -v n="$n" 'BEGIN {printf "%.1f MB for %.0f MB of WAL", s / 1e6, n * 16.777216}'); every fetched segment compared equal to the original)"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores)"
