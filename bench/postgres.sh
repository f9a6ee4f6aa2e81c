#!/usr/bin/env bash
# Ingestion load on PostgreSQL, beside SQLite in the same run: one callbook instance on
# SQLite, one on PostgreSQL, and two instances sharing PostgreSQL (the load generator spreads
# its connections over both).
#
# CPU 0: callbook (and PostgreSQL, for the PostgreSQL runs: all server-side work on one core,
# as with embedded SQLite). CPU 1: the load generator. A throwaway cluster is made with Debian's
# initdb (run as the postgres user when root) with default durability (fsync, synchronous_commit
# on).
#
#   bash bench/postgres.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
KEY=bench-signing-key
PGPORT=18095
WORK=$(mktemp -d)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
AS=()
if [ "$(id -u)" = "0" ]; then
  chown postgres:postgres "$WORK"
  AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
cleanup() {
  pkill -f "$WORK/callbook" 2>/dev/null || true
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -q -p callbook -p callbook-load
BIN=target/release

"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" --auth=trust --username=postgres >/dev/null
"${AS[@]}" taskset -c 0 "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg -c max_connections=200" start >/dev/null

config() { # dir url
  mkdir -p "$1"
  cat > "$1/callbook.toml" <<TOML
[database]
url = "$2"
max_connections = 16
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
TOML
}

serve() { # dir port
  CALLBOOK_SERVER_LISTEN="127.0.0.1:$2" RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve \
    --config "$1/callbook.toml" --log-format json 2>"$1/serve-$2.log" &
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && return; sleep 0.1; done
  echo "callbook on $2 did not start" >&2; exit 1
}

load() { # urls
  taskset -c 1 "$BIN/loadgen" --url "$1" --key "$KEY" --connections "$CONNS" \
    --duration "$DURATION" --warmup 2 --json
}

row() { # label json [baseline json]
  python3 - "$@" <<'PY'
import json, sys
label, cb = sys.argv[1], json.loads(sys.argv[2])
rel = ""
if len(sys.argv) > 3:
    base = json.loads(sys.argv[3])
    rel = f" | {cb['requests_per_sec'] / base['requests_per_sec']:.2f}x SQLite"
print(f"| {label} | {cb['requests_per_sec']:.0f} req/s | p50 {cb['p50_ms']:.2f} ms | p99 {cb['p99_ms']:.2f} ms | failed {cb['failed']}{rel} |")
PY
}

echo "== one instance, SQLite"
config "$WORK/sqlite" "sqlite://$WORK/sqlite/bench.db"
serve "$WORK/sqlite" 18091
SQLITE=$(load http://127.0.0.1:18091/webhooks/calendly/bench)
pkill -f "$WORK/sqlite/callbook.toml"; sleep 0.5

echo "== one instance, PostgreSQL"
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres one
config "$WORK/pg1" "postgres://postgres@127.0.0.1:$PGPORT/one"
serve "$WORK/pg1" 18092
PG1=$(load http://127.0.0.1:18092/webhooks/calendly/bench)
pkill -f "$WORK/pg1/callbook.toml"; sleep 0.5

echo "== two instances, one PostgreSQL"
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres two
config "$WORK/pg2" "postgres://postgres@127.0.0.1:$PGPORT/two"
serve "$WORK/pg2" 18093
serve "$WORK/pg2" 18094
PG2=$(load http://127.0.0.1:18093/webhooks/calendly/bench,http://127.0.0.1:18094/webhooks/calendly/bench)
pkill -f "$WORK/pg2/callbook.toml"; sleep 0.5

echo
echo "| setup | throughput | p50 | p99 | failed | vs SQLite |"
echo "|---|---|---|---|---|---|"
row "1 instance, SQLite" "$SQLITE"
row "1 instance, PostgreSQL" "$PG1" "$SQLITE"
row "2 instances, PostgreSQL" "$PG2" "$SQLITE"
