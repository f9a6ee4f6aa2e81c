#!/usr/bin/env bash
# Ingestion load on PostgreSQL, beside SQLite in the same run: one callbook instance on
# SQLite, one on PostgreSQL, and two instances sharing PostgreSQL (the load generator spreads
# its connections over both).
#
# CPU 0: callbook. CPU 1: the load generator. PostgreSQL runs twice: on CPU 0 beside callbook
# (all server-side work on one core, as with embedded SQLite), and on CPU 1 beside the load
# generator (closer to production, where the database has its own machine). Each row also gives
# callbook's own CPU time per stored event, read from /proc, which does not depend on where
# PostgreSQL runs. A throwaway cluster is made with Debian's initdb (as the postgres user when
# root), default durability (fsync, synchronous_commit on).
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
  kill "${PIDS[@]}" 2>/dev/null || true
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -q -p callbook -p callbook-load
BIN=target/release
# Another callbook binary to measure (an A/B against an older build): CALLBOOK_BIN=path.
CALLBOOK=${CALLBOOK_BIN:-$BIN/callbook}

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

PIDS=()
serve() { # dir port
  CALLBOOK_SERVER_LISTEN="127.0.0.1:$2" RUST_LOG=warn taskset -c 0 "$CALLBOOK" serve \
    --config "$1/callbook.toml" --log-format json 2>"$1/serve-$2.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && return; sleep 0.1; done
  echo "callbook on $2 did not start" >&2; exit 1
}

ticks() { local t=0; for p in "${PIDS[@]}"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }

# Runs the load; prints its JSON with callbook's CPU microseconds per successful request added.
load() { # urls
  local before after json
  before=$(ticks)
  json=$(taskset -c 1 "$BIN/loadgen" --url "$1" --key "$KEY" --connections "$CONNS" \
    --duration "$DURATION" --warmup 2 --json)
  after=$(ticks)
  python3 - "$json" "$before" "$after" "$((DURATION + 2))" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
ticks = int(sys.argv[3]) - int(sys.argv[2])
served = j["requests_per_sec"] * float(sys.argv[4])  # warmup included in the CPU window
j["callbook_us_per_event"] = ticks * 10_000 / served if served else 0
print(json.dumps(j))
PY
}

stop_callbook() { kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true; PIDS=(); sleep 0.5; }
pin_postgres() { for p in $(pgrep -u postgres postgres); do taskset -pc "$1" "$p" >/dev/null; done; }

row() { # label json [baseline json]
  python3 - "$@" <<'PY'
import json, sys
label, cb = sys.argv[1], json.loads(sys.argv[2])
rel = ""
if len(sys.argv) > 3:
    base = json.loads(sys.argv[3])
    rel = f" | {cb['requests_per_sec'] / base['requests_per_sec']:.2f}x SQLite"
print(f"| {label} | {cb['requests_per_sec']:.0f} req/s | p50 {cb['p50_ms']:.2f} ms | p99 {cb['p99_ms']:.2f} ms | {cb['callbook_us_per_event']:.0f} us | failed {cb['failed']}{rel} |")
PY
}

echo "== one instance, SQLite"
config "$WORK/sqlite" "sqlite://$WORK/sqlite/bench.db"
serve "$WORK/sqlite" 18091
SQLITE=$(load http://127.0.0.1:18091/webhooks/calendly/bench)
stop_callbook

"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres one
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p $PGPORT -U postgres two
config "$WORK/pg1" "postgres://postgres@127.0.0.1:$PGPORT/one"
config "$WORK/pg2" "postgres://postgres@127.0.0.1:$PGPORT/two"
for CPU in 0 1; do
  pin_postgres $CPU
  echo "== one instance, PostgreSQL on CPU $CPU"
  serve "$WORK/pg1" 18092
  eval "PG1_$CPU=\$(load http://127.0.0.1:18092/webhooks/calendly/bench)"
  stop_callbook
  echo "== two instances, one PostgreSQL on CPU $CPU"
  serve "$WORK/pg2" 18093
  serve "$WORK/pg2" 18094
  eval "PG2_$CPU=\$(load http://127.0.0.1:18093/webhooks/calendly/bench,http://127.0.0.1:18094/webhooks/calendly/bench)"
  stop_callbook
done

echo
echo "| setup | throughput | p50 | p99 | callbook CPU per event | failed | vs SQLite |"
echo "|---|---|---|---|---|---|---|"
row "1 instance, SQLite" "$SQLITE"
row "1 instance, PostgreSQL beside callbook (CPU 0)" "$PG1_0" "$SQLITE"
row "2 instances, PostgreSQL beside callbook (CPU 0)" "$PG2_0" "$SQLITE"
row "1 instance, PostgreSQL beside the load generator (CPU 1)" "$PG1_1" "$SQLITE"
row "2 instances, PostgreSQL beside the load generator (CPU 1)" "$PG2_1" "$SQLITE"
