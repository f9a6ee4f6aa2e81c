#!/usr/bin/env bash
# Ingestion load benchmark: callbook vs a bare axum handler, in the same run.
#
# Server on CPU 0, load generator on CPU 1 (taskset), loopback only, 32 connections. Every
# request is the seed invitee.created with a distinct invitee URI and a fresh valid signature.
#
# This machine's speed drifts by 15-30% from minute to minute, and the bare handler as much as
# callbook, so one pair of runs can land anywhere in that range. The headline ratio is CPU per
# request: the bare server's over callbook's per event, both read from /proc/PID/stat over the
# measured window, with the generator's own core use beside it (at 90% or more the generator,
# not the server, sets the req/s, and the output says so). The runs are interleaved
# (bare, process, power_loss, redelivery, then again) and the ratio is taken between the
# medians. redelivery sends one signed body again and again: every request after the first
# is a duplicate. Each round ends with an equal-load pair (see below): the bare handler and
# callbook paced at the same rate by the same generator, a second ratio beside the headline.
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

TCK=$(getconf CLK_TCK)
run_load() { # url server_pid [more loadgen flags]
  local url=$1 pid=$2
  shift 2
  taskset -c 1 "$BIN/loadgen" --url "$url" --key "$KEY" --connections "$CONNS" \
    --duration "$DURATION" --warmup 2 --json --server-pid "$pid" --clk-tck "$TCK" "$@"
}

# The bare baseline through `wrk` when it is installed (apt install wrk): C and epoll, it
# drives the bare handler further than `loadgen` can from one core, so the baseline measures
# the server rather than the generator. Prints the same JSON fields as `loadgen --json`.
run_wrk() { # url server_pid
  python3 - "$1" "$2" "$CONNS" "$DURATION" "$TCK" bench/load/seed_invitee_created.json <<'PY'
import json, re, resource, subprocess, sys, tempfile, time
url, pid, conns, duration, tck, body = sys.argv[1:]
lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
lua.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
          f'wrk.body = io.open("{body}", "rb"):read("*a")\n')
lua.close()
cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", "-s", lua.name, "--latency"]
subprocess.run(cmd + ["-d2s", url], capture_output=True, check=True)  # warm-up
def ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
t0, r0, w0 = ticks(), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
out = subprocess.run(cmd + [f"-d{duration}s", url], capture_output=True, text=True, check=True).stdout
t1, r1, w1 = ticks(), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
total = int(re.search(r"(\d+) requests in", out).group(1))
bad = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
def ms(q):
    value, unit = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
gen = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
print(json.dumps({
    "generator": "wrk", "ok": total - bad, "failed": bad,
    "requests_per_sec": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
    "p50_ms": ms(50), "p99_ms": ms(99),
    "server_cpu_us_per_req": (t1 - t0) / int(tck) * 1e6 / max(total, 1),
    "loadgen_cpu_util": gen / (w1 - w0),
}))
PY
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
  # The baseline does not verify: one body signed once is the cheapest request to send, so
  # the generator is as far as it can be from being the bottleneck (wrk when installed).
  if command -v wrk >/dev/null; then
    JSON=$(run_wrk http://127.0.0.1:18090/webhooks/calendly/bench "$BARE")
  else
    JSON=$(run_load http://127.0.0.1:18090/webhooks/calendly/bench "$BARE" --static)
  fi
  RSS=$(rss_kib $BARE)
  kill $BARE; wait $BARE 2>/dev/null || true
  record bare "$JSON" "$RSS"

  for MODE in process power_loss redelivery; do
    # redelivery: process mode, one signed body again and again (`--static`), so after the
    # first every request is a duplicate: verified, classified, found, answered.
    DURABILITY=$MODE FLAGS=()
    if [ "$MODE" = redelivery ]; then DURABILITY=process FLAGS=(--static); fi
    DIR="$WORK/$MODE-$ROUND"
    mkdir -p "$DIR"
    cat > "$DIR/callbook.toml" <<TOML
[server]
listen = "127.0.0.1:18091"
[database]
url = "sqlite://$DIR/bench.db"
durability = "$DURABILITY"
[[sources]]
name = "bench"
provider = "calendly"
signing_keys = ["$KEY"]
TOML
    echo "== round $ROUND: callbook, $MODE"
    RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
    PID=$!
    for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
    JSON=$(run_load http://127.0.0.1:18091/webhooks/calendly/bench "$PID" "${FLAGS[@]}")
    RSS=$(rss_kib $PID)
    kill $PID; wait $PID 2>/dev/null || true
    record "$MODE" "$JSON" "$RSS"
    if [ "$MODE" = process ]; then
      PROCESS_RPS=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["requests_per_sec"]))' "$JSON")
    fi
  done

  # Equal load: both servers paced open-loop at the same rate (half this round's process
  # throughput, so that neither queues) by the same generator. A server's CPU per request depends on its load: a busy
  # server amortises its wake-ups over many requests, and on loopback the sender pays for
  # waking a sleeping receiver. At saturation the bare server is woken by a saturated `wrk`
  # while callbook wakes a generator that is idle half the time; here both meet the same
  # generator in the same state.
  RATE=$((PROCESS_RPS / 2))
  echo "== round $ROUND: equal load, $RATE req/s: bare, then callbook (process)"
  taskset -c 0 "$BIN/bare-server" 127.0.0.1:18090 2>/dev/null &
  BARE=$!
  sleep 0.5
  JSON=$(run_load http://127.0.0.1:18090/webhooks/calendly/bench "$BARE" --static --rate "$RATE")
  RSS=$(rss_kib $BARE)
  kill $BARE; wait $BARE 2>/dev/null || true
  record bare_paced "$JSON" "$RSS"
  DIR="$WORK/paced-$ROUND"
  mkdir -p "$DIR"
  sed "s#$WORK/process-$ROUND#$DIR#" "$WORK/process-$ROUND/callbook.toml" > "$DIR/callbook.toml"
  RUST_LOG=warn taskset -c 0 "$BIN/callbook" serve --config "$DIR/callbook.toml" --log-format json 2>"$DIR/serve.log" &
  PID=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
  JSON=$(run_load http://127.0.0.1:18091/webhooks/calendly/bench "$PID" --rate "$RATE")
  RSS=$(rss_kib $PID)
  kill $PID; wait $PID 2>/dev/null || true
  record process_paced "$JSON" "$RSS"
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def of(kind, key):
    return [r[key] for r in runs if r["kind"] == kind and r.get(key) is not None]
def med(kind, key):
    values = of(kind, key)
    return statistics.median(values) if values else float("nan")
bare_rps, bare_cpu = med("bare", "requests_per_sec"), med("bare", "server_cpu_us_per_req")
print(f"\nmedians of {len(of('bare', 'requests_per_sec'))} interleaved rounds; CPU is the server's "
      "own (all threads, /proc/PID/stat) per answered request over the measured window; "
      "'generator' is the load generator's use of its core")
print(f"| bare | {bare_rps:.0f} req/s | {bare_cpu:.1f} us CPU/req | 1x "
      f"| p99 {med('bare', 'p99_ms'):.2f} ms | generator {med('bare', 'loadgen_cpu_util'):.0%} |")
bound = []
for kind in ("bare", "process", "power_loss", "redelivery"):
    if med(kind, "loadgen_cpu_util") >= 0.9:
        bound.append(kind)
for mode in ("process", "power_loss", "redelivery"):
    rps = med(mode, "requests_per_sec")
    cpu = med(mode, "server_cpu_us_per_req")
    each = ", ".join(f"{r:.0f}" for r in of(mode, "requests_per_sec"))
    print(
        f"| {mode} | {rps:.0f} req/s ({each}) | {cpu:.1f} us CPU/request "
        f"| **{bare_cpu / cpu:.3f}x bare by CPU** ({rps / bare_rps:.3f}x by req/s) "
        f"| p50 {med(mode, 'p50_ms'):.2f} ms "
        f"| p99 {med(mode, 'p99_ms'):.2f} ms (worst {max(of(mode, 'p99_ms')):.2f}) "
        f"| p99.9 {med(mode, 'p999_ms'):.2f} ms "
        f"| RSS {max(of(mode, 'rss_kib')) / 1024:.1f} MiB | generator {med(mode, 'loadgen_cpu_util'):.0%} "
        f"| failed {sum(of(mode, 'failed'))} |"
    )
paced_bare, paced = med("bare_paced", "server_cpu_us_per_req"), med("process_paced", "server_cpu_us_per_req")
print(f"\nequal load (both paced open-loop at half of each round's process throughput, same generator): "
      f"bare {paced_bare:.1f} us CPU/req, process {paced:.1f} us CPU/event, "
      f"**{paced_bare / paced:.3f}x bare by CPU at equal load** "
      f"(rates {', '.join(f'{r:.0f}' for r in of('process_paced', 'requests_per_sec'))} req/s; "
      f"process p99 {med('process_paced', 'p99_ms'):.2f} ms)")
if bound:
    print(f"\nGENERATOR-BOUND: the load generator used 90% or more of its core for {', '.join(bound)}; "
          "req/s there measures the generator as much as the server (the CPU ratio does not).")
PY
