#!/usr/bin/env bash
# Restore + WAL replay: a full backup, then REPLAY_SEGMENTS (default 64 = 1 GiB) of WAL archived both
# by wal-push and by cp; restore the backup three times and time until the server has replayed
# everything and promoted: as `llm-analytics database restore` does it (restore_command = wal-fetch)
# with prefetch (the default) and without (BACKUP_WAL_PREFETCH=0), and with restore_command = cp
# from the local archive. Printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
segments=${REPLAY_SEGMENTS:-64}
cli=$PWD/bin/llm-analytics
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# Everything runs as the database user: the archiver (wal-push) and the CLI share the repository.
source scripts/bench/lib.sh

work=$(mktemp -d /tmp/llm-analytics-replaybench.XXXXXX)
chmod 755 "$work"; ((EUID == 0)) && chown postgres: "$work"
cleanup() { for d in src ours ours-prefetch cp; do as_db_user "$bin/pg_ctl" -D "$work/$d" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$work"; }
trap cleanup EXIT
export BACKUP_REPO=$work/repo
port=$(free_port)
as_db_user mkdir "$work/cp-archive"
as_db_user "$bin/initdb" -D "$work/src" -U postgres --auth=trust --no-sync >/dev/null
as_db_user "$bin/pg_ctl" -D "$work/src" -l "$work/src.log" -w start -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c archive_mode=on -c max_wal_size=4GB \
  -c archive_command='cp %p $work/cp-archive/%f && $cli database wal-push --no-encryption %p'" >/dev/null
psql_() { as_db_user "$bin/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -v ON_ERROR_STOP=1 "${@:2}"; }
psql_ "$port" -c 'CREATE DATABASE llm_analytics'
psql_ "$port" -d llm_analytics -c 'CREATE TABLE w (id bigint, t timestamptz, v double precision, s text)'
PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres as_db_user "$cli" database backup --no-encryption --json >/dev/null
echo "replay bench: writing $segments WAL segments after the backup (in $work)" >&2
base=$(ls "$work/cp-archive" | grep -c '^[0-9A-F]\{24\}$' || true)
while (( $(ls "$work/cp-archive" | grep -c '^[0-9A-F]\{24\}$' || true) < base + segments )); do
  psql_ "$port" -d llm_analytics -c "INSERT INTO w SELECT g, now(), random(), md5(g::text) FROM generate_series(1, 400000) g" >/dev/null
done
psql_ "$port" -c 'SELECT pg_switch_wal()' >/dev/null
until [[ $(psql_ "$port" -c "SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver") == t ]]; do sleep 0.5; done
expected=$(psql_ "$port" -d llm_analytics -c 'SELECT count(*) FROM w')
as_db_user "$bin/pg_ctl" -D "$work/src" -m fast stop >/dev/null

wait_promoted() { until [[ $(psql_ "$1" -c 'SELECT pg_is_in_recovery()' 2>/dev/null) == f ]]; do sleep 0.1; done; }
# $1: data directory, $2: BACKUP_WAL_PREFETCH (the restored server inherits it); prints the seconds.
restore_ours() {
  local port; port=$(free_port)
  local start; start=$(now)
  PGUSER=postgres BACKUP_WAL_PREFETCH=$2 as_db_user "$cli" database restore --pgdata "$1" --port "$port" --force --skip-validation --json >/dev/null
  wait_promoted "$port"
  since "$start"
  [[ $(psql_ "$port" -d llm_analytics -c 'SELECT count(*) FROM w') == "$expected" ]] || { echo "replay bench: wal-fetch restore ($1) lost rows" >&2; exit 1; }
  [[ ! -e "$1/pg_wal/.llm-analytics-prefetch" ]] || { echo "replay bench: the prefetch spool outlived recovery in $1" >&2; exit 1; }
  as_db_user "$bin/pg_ctl" -D "$1" -m fast stop >/dev/null
}
ours=$(restore_ours "$work/ours" 0)
ours_prefetch=$(restore_ours "$work/ours-prefetch" 8)

cp_port=$(free_port)
start=$(now)
PGUSER=postgres as_db_user "$cli" database restore --pgdata "$work/cp" --port "$cp_port" --no-start --force --json >/dev/null
# Later lines of postgresql.auto.conf win: the same recovery, fed by cp instead of wal-fetch.
echo "restore_command = 'cp $work/cp-archive/%f %p'" | as_db_user tee -a "$work/cp/postgresql.auto.conf" >/dev/null
as_db_user "$bin/pg_ctl" -D "$work/cp" -l "$work/cp.log" -w -t 3600 start >/dev/null
wait_promoted "$cp_port"
cpt=$(since "$start")
[[ $(psql_ "$cp_port" -d llm_analytics -c 'SELECT count(*) FROM w') == "$expected" ]] || { echo "replay bench: cp restore lost rows" >&2; exit 1; }

mib=$((segments * 16))
printf '\nRestore + replay of %d MiB of WAL (%d segments), local directory repository, %s cores\n' "$mib" "$segments" "$(nproc)"
printf '%-46s %8s %10s\n' "" seconds "vs limit"
printf '%-46s %8s %10s\n' "restore_command = cp (limit)" "$cpt" "1.00"
printf '%-46s %8s %10s\n' "llm-analytics restore (wal-fetch, no prefetch)" "$ours" "$(awk -v a="$cpt" -v b="$ours" 'BEGIN {printf "%.2f", a / b}')"
printf '%-46s %8s %10s\n' "llm-analytics restore (wal-fetch, prefetch 8)" "$ours_prefetch" "$(awk -v a="$cpt" -v b="$ours_prefetch" 'BEGIN {printf "%.2f", a / b}')"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores)"
