#!/usr/bin/env bash
# The recipes' benchmarks (docs/benchmarks.md, "Recipes"):
# 1. directory lookups with a million meetings stored, on SQLite and on PostgreSQL (a
#    throwaway cluster made with Debian's initdb, as the postgres user when root);
# 2. insight-card latency while contact sync drains a 10,000-booking backlog, through the
#    real binary and an Aircall stand-in, at Aircall's default budget of 60 requests a minute.
#
#   bash bench/recipes.sh [meetings] [lookups] [backlog] [calls]
set -euo pipefail
cd "$(dirname "$0")/.."
MEETINGS=${1:-1000000}
LOOKUPS=${2:-20000}
BACKLOG=${3:-10000}
CALLS=${4:-100}
PGPORT=18096
WORK=$(mktemp -d)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
AS=()
if [ "$(id -u)" = "0" ]; then
  chown postgres:postgres "$WORK" 2>/dev/null || true
  AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
cleanup() {
  [ -n "$PGBIN" ] && "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -q -p callbook -p callbook-bench-recipes
echo "== directory lookups, SQLite"
target/release/directory sqlite "$MEETINGS" "$LOOKUPS"
if [ -n "$PGBIN" ]; then
  "${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" --auth=trust --username=postgres >/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg" start >/dev/null
  echo "== directory lookups, PostgreSQL"
  target/release/directory "postgres://postgres@127.0.0.1:$PGPORT/postgres" "$MEETINGS" "$LOOKUPS"
else
  echo "(no PostgreSQL binaries: skipping its run)"
fi
echo "== insight cards under a contact-sync backlog"
target/release/cards target/release/callbook "$BACKLOG" "$CALLS" 60
