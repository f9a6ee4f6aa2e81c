#!/usr/bin/env bash
# Ingestion load benchmark: callbook vs a bare axum handler, in the same run.
#
# Server on CPU 0, load generator on CPU 1 (taskset), loopback only, 32 connections. Every
# request is the seed invitee.created with a distinct invitee URI and a fresh valid signature.
#
# This machine's speed drifts by 15-30% from minute to minute, and the bare handler as much as
# callbook, so one pair of runs can land anywhere in that range. The runs are interleaved
# (bare, process, power_loss, then again) and the ratio is taken between the medians.
#
#   bash bench/load.sh [duration_secs=10] [connections=32] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
ROUNDS=${3:-3}
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

RESULTS="$WORK/results.jsonl"
record() { # kind json rss
  python3 -c 'import json,sys; d=json.loads(sys.argv[2]); d["kind"]=sys.argv[1]; d["rss_kib"]=int(sys.argv[3]); print(json.dumps(d))' \
    "$1" "$2" "$3" >> "$RESULTS"
  echo "$1: $2 rss_kib=$3"
}

for ROUND in $(seq "$ROUNDS"); do
  echo "== round $ROUND: bare axum handler (reads the body, answers 200)"
  taskset -c 0 "$BIN/bare-server" 127.0.0.1:18090 2>/dev/null &
  BARE=$!
  sleep 0.5
  JSON=$(run_load http://127.0.0.1:18090/webhooks/calendly/bench)
  RSS=$(rss_kib $BARE)
  kill $BARE; wait $BARE 2>/dev/null || true
  record bare "$JSON" "$RSS"

  for MODE in process power_loss; do
    DIR="$WORK/$MODE-$ROUND"
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
    echo "== round $ROUND: callbook, durability = $MODE"
    RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
    PID=$!
    for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
    JSON=$(run_load http://127.0.0.1:18091/webhooks/calendly/bench)
    RSS=$(rss_kib $PID)
    kill $PID; wait $PID 2>/dev/null || true
    record "$MODE" "$JSON" "$RSS"
  done
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def of(kind, key):
    return [r[key] for r in runs if r["kind"] == kind]
bare = statistics.median(of("bare", "requests_per_sec"))
print(f"\nmedians of {len(of('bare', 'requests_per_sec'))} interleaved rounds")
print(f"| bare | {bare:.0f} req/s | 1x | p99 {statistics.median(of('bare', 'p99_ms')):.2f} ms |")
for mode in ("process", "power_loss"):
    rps = statistics.median(of(mode, "requests_per_sec"))
    each = ", ".join(f"{r:.0f}" for r in of(mode, "requests_per_sec"))
    print(
        f"| {mode} | {rps:.0f} req/s ({each}) | {rps / bare:.3f}x bare "
        f"| p50 {statistics.median(of(mode, 'p50_ms')):.2f} ms "
        f"| p99 {statistics.median(of(mode, 'p99_ms')):.2f} ms (worst {max(of(mode, 'p99_ms')):.2f}) "
        f"| RSS {max(of(mode, 'rss_kib')) / 1024:.1f} MiB | failed {sum(of(mode, 'failed'))} |"
    )
PY
