#!/usr/bin/env bash
# The main job on the embedded default, for real: a local PostgreSQL 15 cluster with sample data,
# a full backup to the local directory repository, the list, a restore into a new data directory,
# and a comparison of every table's rows between the source and the restored server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cli=$PWD/bin/llm-analytics
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# As root, PostgreSQL runs as the unprivileged postgres user (the CLI does the same by itself).
as_db_user() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

work=$(mktemp -d /tmp/llm-analytics-demo.XXXXXX)
chmod 755 "$work"
((EUID == 0)) && chown postgres: "$work"
src=$work/source restored=$work/restored
cleanup() {
  as_db_user "$bin/pg_ctl" -D "$restored" -m fast stop >/dev/null 2>&1 || true
  as_db_user "$bin/pg_ctl" -D "$src" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
echo "== 1. A local PostgreSQL cluster with sample data (port $port, in $work)"
as_db_user "$bin/initdb" -D "$src" -U postgres --auth=trust >/dev/null
as_db_user "$bin/pg_ctl" -D "$src" -l "$work/source.log" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -w start >/dev/null
psql() { as_db_user "$bin/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -v ON_ERROR_STOP=1 "${@:2}"; }
psql "$port" -d postgres -c 'CREATE DATABASE llm_analytics'
psql "$port" -d llm_analytics -f scripts/demo/sample-data.sql >/dev/null

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
# Encryption is on by default; the demo makes a throwaway passphrase (never printed or stored).
BACKUP_ENCRYPTION_PASSPHRASE=$(head -c 24 /dev/urandom | base64)
export BACKUP_ENCRYPTION_PASSPHRASE

echo "== 2. Back up to the local directory repository (the default)"
"$cli" database backup -d llm_analytics
echo "== 3. List the backups"
"$cli" database list-backups -d llm_analytics --limit 5
echo "== 4. Restore the newest backup into a new data directory and start it"
restored_port=$(free_port)
"$cli" database restore -d llm_analytics --pgdata "$restored" --port "$restored_port" --force

echo "== 5. Compare every table between the source and the restored server"
# Per table: its row count and an md5 of all its rows in a fixed order.
digest_sql=$(cat <<'SQL'
SELECT c.relname || ': ' || (xpath('/row/d/text()', query_to_xml(format(
    'select count(*) || '' rows, md5 '' || md5(coalesce(string_agg(t::text, chr(10) order by t::text), '''')) as d from %I.%I t',
    n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1
SQL
)
before=$(psql "$port" -d llm_analytics -At -c "$digest_sql")
after=$(psql "$restored_port" -d llm_analytics -At -c "$digest_sql")
echo "$after" | sed 's/^/   /'
if [[ "$before" == "$after" ]]; then echo "✓ the restored server has the same rows in every table as the source"; else
  echo "✗ the restored server differs from the source"; diff <(echo "$before") <(echo "$after") || true; exit 1; fi
