#!/usr/bin/env bash
# Delivery benchmark: ingest at a steady rate, forward to a local sink, measure the time from
# the webhook's send to the sink receiving it, and check the queue does not grow.
#
#   bash bench/delivery.sh [rate=5000] [duration_secs=10]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-5000}
DURATION=${2:-10}
KEY=bench-signing-key
WORK=$(mktemp -d)
trap 'pkill -f "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release -q -p callbook -p callbook-load
BIN=target/release

cat > "$WORK/callbook.toml" <<TOML
[server]
listen = "127.0.0.1:18091"
[database]
url = "sqlite://$WORK/bench.db"
[admin]
token = "bench-admin-token"
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
[[destinations]]
name = "sink"
url = "http://127.0.0.1:18092/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["invitee.*"]
max_in_flight = 32
TOML

RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$WORK/callbook.toml" --log-format json 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
taskset -c 1 "$BIN/sink" 127.0.0.1:18092 $((DURATION + 6)) > "$WORK/sink.json" &
SINK=$!
sleep 0.3
LOAD=$(taskset -c 1 "$BIN/loadgen" --url http://127.0.0.1:18091/webhooks/calendly/bench --key "$KEY" \
  --connections 64 --duration "$DURATION" --warmup 1 --rate "$RATE" --json)
QUEUE_END=$(curl -s http://127.0.0.1:18091/metrics | awk '/^callbook_delivery_queue_depth/ {print $2}')
wait $SINK
RSS=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
kill $PID; wait $PID 2>/dev/null || true
echo "load:  $LOAD"
echo "sink:  $(cat "$WORK/sink.json")"
echo "queue depth right after the load stopped: ${QUEUE_END:-?}; server peak RSS ${RSS} KiB"
