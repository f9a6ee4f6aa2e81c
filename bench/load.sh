#!/usr/bin/env bash
# Ingestion load benchmark: callbook vs a bare axum handler, in the same run.
#
# Server on CPU 0, load generator on CPU 1 (taskset), loopback only, 32 connections. Every
# request is the seed invitee.created with a distinct invitee URI and a fresh valid signature.
#
#   bash bench/load.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
KEY=bench-signing-key
WORK=$(mktemp -d)
trap 'pkill -f "$WORK" 2>/dev/null || true; pkill -f "bare-server 127.0.0.1:18090" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -q -p callbook -p callbook-load
BIN=target/release

run_load() { # url
  taskset -c 1 "$BIN/loadgen" --url "$1" --key "$KEY" --connections "$CONNS" \
    --duration "$DURATION" --warmup 2 --json
}

rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

echo "== bare axum handler (reads the body, answers 200)"
taskset -c 0 "$BIN/bare-server" 127.0.0.1:18090 2>/dev/null &
BARE=$!
sleep 0.5
BARE_JSON=$(run_load http://127.0.0.1:18090/webhooks/calendly/bench)
BARE_RSS=$(rss_kib $BARE)
kill $BARE; wait $BARE 2>/dev/null || true
echo "$BARE_JSON rss_kib=$BARE_RSS"

for MODE in process power_loss; do
  DIR="$WORK/$MODE"
  mkdir -p "$DIR"
  cat > "$DIR/callbook.toml" <<TOML
[server]
listen = "127.0.0.1:18091"
[database]
url = "sqlite://$DIR/bench.db"
durability = "$MODE"
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
TOML
  echo "== callbook, durability = $MODE"
  RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
  PID=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
  JSON=$(run_load http://127.0.0.1:18091/webhooks/calendly/bench)
  RSS=$(rss_kib $PID)
  kill $PID; wait $PID 2>/dev/null || true
  echo "$JSON rss_kib=$RSS"
  python3 - "$BARE_JSON" "$JSON" "$RSS" "$MODE" <<'PY'
import json, sys
bare, cb, rss, mode = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ratio = cb["requests_per_sec"] / bare["requests_per_sec"]
print(f"| {mode} | {cb['requests_per_sec']:.0f} req/s | {ratio:.3f}x bare | p50 {cb['p50_ms']:.2f} ms | p99 {cb['p99_ms']:.2f} ms | RSS {rss/1024:.1f} MiB | failed {cb['failed']} |")
PY
done
