# Shell helpers the bench scripts share (sourced, not run).

# PostgreSQL refuses to run as root: as root, run database programs as the postgres user.
as_db_user() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now() { date +%s.%N; }
# Before each timed step: write out what the previous steps left dirty in the page cache (a
# restore leaves ~1 GB of it), so its writeback is not charged to whichever step comes next.
settle_disk() { sync; }
# Seconds since a time taken with now().
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# json_field FILE a.b.0.c: one field of a JSON document.
json_field() { node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(process.argv[2].split(".").reduce((o,k)=>o[k],v))' "$1" "$2"; }
