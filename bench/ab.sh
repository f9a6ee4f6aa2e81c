#!/usr/bin/env bash
# Interleaved A/B of two callbook binaries: the way to tell a change of a few percent from this
# machine's drift (its speed moves by 15-30% from minute to minute, so runs of one binary
# made minutes apart cannot be compared). Rounds alternate A, B, A, B, ...; each round starts a
# fresh server on an empty database, pinned to CPU 0, with the load generator (and sink) on
# CPU 1. The summary gives each side's medians and, pair by pair, how B compares with A.
#
#   bash bench/ab.sh delivery BIN_A BIN_B [rounds=5] [rate=5000]
#       steady rate, forwarded to a local sink (256 permits): server CPU per event and
#       arrival -> sink p50/p99, as bench/delivery.sh measures them
#   bash bench/ab.sh ingest BIN_A BIN_B [rounds=5] [durability=process]
#       closed loop, 32 connections, no destination: the server's CPU per request (all its
#       threads, from /proc/PID/stat over the measured window), requests per second, p90, p99
#       and p99.9
#
# Build the two binaries from the commits to compare, for example:
#   git worktree add /tmp/base <commit> && cargo build --release -p callbook \
#     --manifest-path /tmp/base/Cargo.toml && cp /tmp/base/target/release/callbook /tmp/callbook-a
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?delivery or ingest}
BIN_A=$(realpath "${2:?binary A}")
BIN_B=$(realpath "${3:?binary B}")
ROUNDS=${4:-5}
KEY=bench-signing-key
WORK=$(mktemp -d)
trap 'pkill -f "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release -q -p callbook-load
TOOLS=target/release
RESULTS="$WORK/results.jsonl"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

config() {
  cat <<TOML
[server]
listen = "127.0.0.1:18091"
[database]
url = "sqlite://$1/bench.db"
durability = "$2"
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
TOML
  if [ "$MODE" = delivery ]; then
    cat <<TOML
[[destinations]]
name = "sink"
url = "http://127.0.0.1:18092/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["invitee.*"]
max_in_flight = 256
TOML
  fi
}

for ROUND in $(seq "$ROUNDS"); do
  for SIDE in A B; do
    BIN=$BIN_A; [ "$SIDE" = B ] && BIN=$BIN_B
    DIR="$WORK/$ROUND-$SIDE"
    mkdir -p "$DIR"
    if [ "$MODE" = delivery ]; then config "$DIR" process; else config "$DIR" "${5:-process}"; fi > "$DIR/callbook.toml"
    RUST_LOG=warn taskset -c 0 "$BIN" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
    PID=$!
    for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
    if [ "$MODE" = delivery ]; then
      RATE=${5:-5000}
      taskset -c 1 "$TOOLS/sink" 127.0.0.1:18092 14 > "$DIR/sink.json" &
      SINK=$!
      sleep 0.3
      taskset -c 1 "$TOOLS/loadgen" --url http://127.0.0.1:18091/webhooks/calendly/bench \
        --key "$KEY" --connections 64 --duration 8 --warmup 1 --rate "$RATE" --json > "$DIR/load.json" &
      LOAD=$!
      # CPU over the middle of the load, away from its start and end.
      sleep 3
      CPU_START=$(cpu_ticks $PID)
      sleep 4
      CPU_END=$(cpu_ticks $PID)
      wait $LOAD
      wait $SINK
      python3 - "$SIDE" "$DIR" "$((CPU_END - CPU_START))" "$RATE" >> "$RESULTS" <<'PY'
import json, sys
side, d, ticks, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sink = json.load(open(f"{d}/sink.json"))
print(json.dumps({"side": side, "cpu_us": ticks * 10_000 / (rate * 4),
                  "p50_ms": sink["p50_ms"], "p99_ms": sink["p99_ms"]}))
PY
    else
      taskset -c 1 "$TOOLS/loadgen" --url http://127.0.0.1:18091/webhooks/calendly/bench \
        --key "$KEY" --connections 32 --duration 5 --warmup 1 --json \
        --server-pid "$PID" --clk-tck "$(getconf CLK_TCK)" > "$DIR/load.json"
      python3 - "$SIDE" "$DIR" >> "$RESULTS" <<'PY'
import json, sys
side, d = sys.argv[1], sys.argv[2]
load = json.load(open(f"{d}/load.json"))
print(json.dumps({"side": side, "cpu_us": load["server_cpu_us_per_req"],
                  "req_per_s": load["requests_per_sec"], "p90_ms": load["p90_ms"],
                  "p99_ms": load["p99_ms"], "p999_ms": load["p999_ms"],
                  "failed": load["failed"]}))
PY
    fi
    kill $PID; wait $PID 2>/dev/null || true
    echo "== round $ROUND $SIDE: $(tail -n 1 "$RESULTS")"
  done
done

python3 - "$RESULTS" "$MODE" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a = [r for r in rows if r["side"] == "A"]
b = [r for r in rows if r["side"] == "B"]
keys = ["cpu_us", "p50_ms", "p99_ms"] if sys.argv[2] == "delivery" else ["cpu_us", "req_per_s", "p90_ms", "p99_ms", "p999_ms"]
if sys.argv[2] == "ingest":
    # A refused request (503: the database is behind) is cheap and fast: say so beside the figures.
    print("requests failed, A:", [r["failed"] for r in a], "B:", [r["failed"] for r in b])
print(f"\nmedians of {len(a)} interleaved pairs (B against A, pair by pair)")
for k in keys:
    ma, mb = statistics.median(r[k] for r in a), statistics.median(r[k] for r in b)
    diffs = [100 * (y[k] - x[k]) / x[k] for x, y in zip(a, b) if x[k]]
    lower = sum(d < 0 for d in diffs)
    show = lambda v: f"{v:.0f}" if v >= 1000 else f"{v:.4g}"
    print(f"| {k} | A {show(ma)} | B {show(mb)} | {100 * (mb - ma) / ma:+.1f}% | "
          f"B lower in {lower} of {len(diffs)} pairs: {', '.join(f'{d:+.1f}' for d in diffs)} |")
PY
