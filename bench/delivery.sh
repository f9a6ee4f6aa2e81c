#!/usr/bin/env bash
# Delivery benchmark: ingest at a steady rate, forward to a local sink, measure the time from
# the webhook's send to the sink receiving it, and check the queue does not grow.
#
# Server on CPU 0; load generator and sink on CPU 1 (taskset), loopback only. Each round starts
# a fresh server on an empty database. This machine's speed drifts by 15-30% from minute to
# minute, so one run can land anywhere in that range: several rounds are run and their medians
# reported, with every round's figures.
#
# The destination's concurrency limit is the fourth argument, sized as docs/operations.md says
# a destination that must keep up with a rate should be: several times rate x answer time
# (5,000/s x about 5 ms on this busy core is 25 in flight on average; bursts need several times
# that). With 32, bursts run out of permits and fall back to the store's queue, and p99 rises
# to about 100 ms (docs/benchmarks.md).
#
#   bash bench/delivery.sh [rate=5000] [duration_secs=10] [rounds=3] [max_in_flight=256]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-5000}
DURATION=${2:-10}
ROUNDS=${3:-3}
MAX_IN_FLIGHT=${4:-256}
KEY=bench-signing-key
WORK=$(mktemp -d)
trap 'pkill -f "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release -q -p callbook -p callbook-load
BIN=target/release
RESULTS="$WORK/results.jsonl"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for ROUND in $(seq "$ROUNDS"); do
  DIR="$WORK/round-$ROUND"
  mkdir -p "$DIR"
  cat > "$DIR/callbook.toml" <<TOML
[server]
listen = "127.0.0.1:18091"
[database]
url = "sqlite://$DIR/bench.db"
[admin]
token = "bench-admin-token-0123456789abcdef"
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
[[destinations]]
name = "sink"
url = "http://127.0.0.1:18092/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["invitee.*"]
max_in_flight = $MAX_IN_FLIGHT
TOML

  RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
  PID=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
  taskset -c 1 "$BIN/sink" 127.0.0.1:18092 $((DURATION + 6)) > "$DIR/sink.json" &
  SINK=$!
  sleep 0.3
  CPU_START=$(cpu_ticks $PID)
  LOAD=$(taskset -c 1 "$BIN/loadgen" --url http://127.0.0.1:18091/webhooks/calendly/bench --key "$KEY" \
    --connections 64 --duration "$DURATION" --warmup 1 --rate "$RATE" --json)
  CPU_END=$(cpu_ticks $PID)
  QUEUE_END=$(curl -s http://127.0.0.1:18091/metrics | awk '/^callbook_delivery_queue_depth/ {print $2}')
  wait $SINK
  RSS=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
  kill $PID; wait $PID 2>/dev/null || true
  # Server CPU per event, over the warm-up and the measured load (clock ticks of 10 ms).
  python3 - "$LOAD" "$DIR/sink.json" "${QUEUE_END:-0}" "$RSS" "$((CPU_END - CPU_START))" "$RATE" "$DURATION" >> "$RESULTS" <<'PY'
import json, sys
load, sink = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))
ticks, rate, duration = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
print(json.dumps({
    "ingest": load, "sink": sink, "queue_end": float(sys.argv[3]), "rss_kib": int(sys.argv[4]),
    "server_cpu_us_per_event": ticks * 10_000 / (rate * (duration + 1)),
}))
PY
  echo "== round $ROUND: $(tail -n 1 "$RESULTS")"
done

python3 - "$RESULTS" "$RATE" "$MAX_IN_FLIGHT" <<'PY'
import json, statistics, sys
rounds = [json.loads(l) for l in open(sys.argv[1])]
med = lambda xs: statistics.median(xs)
fmt = lambda xs: ", ".join("%g" % x for x in xs)
p50 = [r["sink"]["p50_ms"] for r in rounds]
p99 = [r["sink"]["p99_ms"] for r in rounds]
queue = [r["queue_end"] for r in rounds]
cpu = [round(r["server_cpu_us_per_event"]) for r in rounds]
print(f"\nmedians of {len(rounds)} rounds at {sys.argv[2]} events/s, max_in_flight {sys.argv[3]}")
print(f"| arrival -> sink p50 | {med(p50):g} ms ({fmt(p50)}) |")
print(f"| arrival -> sink p99 | {med(p99):g} ms ({fmt(p99)}) |")
print(f"| ingest p99 | {med([r['ingest']['p99_ms'] for r in rounds]):g} ms |")
# Kept up: what is queued when the load stops is under 100 ms of arrivals (the gauge is
# refreshed every 2 s, so a flat queue still shows a few hundred in flight at 5,000/s).
kept = sum(q < int(sys.argv[2]) / 10 for q in queue)
print(f"| queue right after the load | {med(queue):g} ({fmt(queue)}); kept up in "
      f"{kept} of {len(rounds)} rounds |")
print(f"| server CPU per event | {med(cpu):g} µs ({fmt(cpu)}) |")
print(f"| server peak RSS | {max(r['rss_kib'] for r in rounds) / 1024:.1f} MiB |")
PY
