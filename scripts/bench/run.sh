#!/usr/bin/env bash
# pnpm bench: backup, restore and verify speed and memory of the CLI on a generated database, each
# next to the raw limit measured in the same run on the same data:
#   backup  vs  pg_basebackup -D - -Ft -X fetch | zstd -1 > file
#   restore vs  zstd -d < file | tar -x
#   verify  vs  sha256sum object, then zstd -d -c object > /dev/null   (on our stored object)
# BENCH_ROWS (default 7600000, about 1 GB) sets the size; BENCH_RUNS (default 3) the repetitions
# (the median is printed). Timings are printed, never asserted. Each timed step starts after a sync
# (settle_disk in lib.sh), so the page-cache writeback of one step is not charged to the next.
# Restored trees are kept until the end (~0.8 GB each, 3 per run): on ext4 without a journal, a
# restore right after a large delete spends up to a second more choosing inodes (the kernel skips
# recently freed ones), which made whichever restore followed a cleanup look slow.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${BENCH_ROWS:-7600000}
runs=${BENCH_RUNS:-3}
cli=$PWD/bin/llm-analytics
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -f packages/cli/bundle/commands/database/backup.js ]] || { echo "bench: run scripts/setup.sh first" >&2; exit 1; }

source scripts/bench/lib.sh
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1e6 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

work=$(mktemp -d /tmp/llm-analytics-bench.XXXXXX)
chmod 755 "$work"
((EUID == 0)) && chown postgres: "$work"
cleanup() {
  as_db_user "$bin/pg_ctl" -D "$work/source" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
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

# Files the postgres user writes (as root) live in $work/pg; the CLI's repository in $work/repo.
mkdir -p "$work/pg" && ((EUID == 0)) && chown postgres: "$work/pg"
declare -A t
for ((run = 1; run <= runs; run++)); do
  echo "bench: run $run of $runs" >&2
  settle_disk; start=$(now); as_db_user sh -c "'$bin/pg_basebackup' -D - -Ft -X fetch --checkpoint=fast | zstd -1 -q > '$work/pg/raw.tar.zst'"
  t[raw_backup]+="$(since "$start") "

  for mode in plain encrypted; do
    flag=--no-encryption; [[ $mode == encrypted ]] && flag=--encryption
    settle_disk; start=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$cli" database backup $flag --json >"$work/backup-$mode.json"
    t[backup_$mode]+="$(since "$start") "
    t[backup_${mode}_rss]+="$(cat "$work/rss") "
  done

  as_db_user mkdir "$work/pg/raw-restore-$run"
  settle_disk; start=$(now); as_db_user sh -c "zstd -d -q -c '$work/pg/raw.tar.zst' | tar -x -C '$work/pg/raw-restore-$run'"
  t[raw_restore]+="$(since "$start") "

  for mode in plain encrypted; do
    id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).id)' "$work/backup-$mode.json")
    settle_disk; start=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$cli" database restore --backup-id "$id" --pgdata "$work/pg/restore-$mode-$run" --no-start --force --json >/dev/null
    t[restore_$mode]+="$(since "$start") "
    t[restore_${mode}_rss]+="$(cat "$work/rss") "
  done

  # verify-backup (no test restore) reads the object once: stored SHA-256, decrypt, decompress, tar,
  # and every file's SHA-256 against backup_manifest. The limit reads it twice with the C tools.
  object="$work/repo/$(json_field "$work/backup-plain.json" objects.0.key)"
  settle_disk; start=$(now); sha256sum "$object" >/dev/null; zstd -d -q -c "$object" >/dev/null
  t[raw_verify]+="$(since "$start") "
  for mode in plain encrypted; do
    settle_disk; start=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$cli" database verify-backup --backup-id "$(json_field "$work/backup-$mode.json" id)" --no-record --json >"$work/verify.json" || { cat "$work/verify.json" >&2; exit 1; }
    t[verify_$mode]+="$(since "$start") "
    t[verify_${mode}_rss]+="$(cat "$work/rss") "
  done
  rm -rf "$work/repo/backups"
done

size=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).sizeBytes)' "$work/backup-plain.json")
m() { echo "${t[$1]}" | tr ' ' '\n' | grep . | median; }
echo
echo "Database tar stream: $(awk -v b="$size" 'BEGIN {printf "%.0f MB", b / 1e6}') ($rows rows), median of $runs runs, $(nproc) cores"
printf '%-34s %8s %9s %10s %9s\n' "" seconds "MB/s" "vs limit" "peak RSS"
row() { printf '%-34s %8.2f %9s %10s %9s\n' "$1" "$2" "$(mbps "$size" "$2")" "$3" "$4"; }
row "pg_basebackup | zstd -1 (limit)" "$(m raw_backup)" "1.00" "-"
row "backup, zstd" "$(m backup_plain)" "$(ratio "$(m raw_backup)" "$(m backup_plain)")" "$(( $(m backup_plain_rss) / 1024 )) MB"
row "backup, zstd + AES-256-GCM" "$(m backup_encrypted)" "$(ratio "$(m raw_backup)" "$(m backup_encrypted)")" "$(( $(m backup_encrypted_rss) / 1024 )) MB"
row "zstd -d | tar -x (limit)" "$(m raw_restore)" "1.00" "-"
row "restore, zstd (--no-start)" "$(m restore_plain)" "$(ratio "$(m raw_restore)" "$(m restore_plain)")" "$(( $(m restore_plain_rss) / 1024 )) MB"
row "restore, zstd + AES-256-GCM" "$(m restore_encrypted)" "$(ratio "$(m raw_restore)" "$(m restore_encrypted)")" "$(( $(m restore_encrypted_rss) / 1024 )) MB"
row "sha256sum + zstd -d (limit)" "$(m raw_verify)" "1.00" "-"
row "verify-backup, zstd" "$(m verify_plain)" "$(ratio "$(m raw_verify)" "$(m verify_plain)")" "$(( $(m verify_plain_rss) / 1024 )) MB"
row "verify-backup, zstd + AES-256-GCM" "$(m verify_encrypted)" "$(ratio "$(m raw_verify)" "$(m verify_encrypted)")" "$(( $(m verify_encrypted_rss) / 1024 )) MB"
echo "(vs limit: throughput relative to the raw pipeline; 1.00 = as fast. Targets: >= 0.90, peak RSS < 250 MB."
echo " Every row is a whole CLI run, its start-up included; verify-backup also hashes every file of the tar.)"

# WAL archiving: wal-push / wal-fetch segments/s beside cp (scripts/bench/wal.sh).
echo
bash scripts/bench/wal.sh

# Restore + replay of 1 GiB of archived WAL, wal-fetch beside cp (scripts/bench/replay.sh).
echo
bash scripts/bench/replay.sh

# HTTP API: GET /v1/backups?limit=50 over 1,000 backups, 50 clients (scripts/bench/api.sh).
echo
bash scripts/bench/api.sh

# Terminal UI responsiveness with a 5,000-backup catalog (no database needed).
echo
node scripts/bench/tui.mjs
