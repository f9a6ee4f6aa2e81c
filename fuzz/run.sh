#!/usr/bin/env bash
# Runs every fuzz target under AFL++ (afl.rs, stable Rust) for a set time and reports the
# executions and what was found. Any crash fails the run; its input is kept under the output
# directory (replay it with `target/debug/<target> < input`).
#
#   bash fuzz/run.sh [seconds per target=60] [output dir=fuzz/out]
#
# Needs cargo-afl (`cargo install cargo-afl`); the first build also builds AFL++ itself.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-60}
OUT=${2:-out}
TARGETS=(calendly_signature aircall_token calendly_webhook aircall_webhook intake_log)

if ! cargo afl --version >/dev/null 2>&1; then
  cargo install cargo-afl --locked
fi
cargo afl build -q
# The seeds, made from the providers' documented payloads and a real intake log, must pass
# every target's checks before fuzzing starts from them.
cargo afl test -q --test seeds
SEEDS="$OUT/seeds"
rm -rf "$SEEDS"
target/debug/make_seeds "$SEEDS"

export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1 AFL_QUIET=1
failed=0
printf '%-20s %12s %10s %8s %8s\n' target executions per_sec corpus crashes
for t in "${TARGETS[@]}"; do
  rm -rf "${OUT:?}/$t"
  cargo afl fuzz -V "$SECS" -i "$SEEDS/$t" -o "$OUT/$t" "target/debug/$t" >"$OUT/$t.log" 2>&1 || {
    echo "afl-fuzz failed on $t; see $OUT/$t.log" >&2
    tail -20 "$OUT/$t.log" >&2
    failed=1
    continue
  }
  stats="$OUT/$t/default/fuzzer_stats"
  get() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
  crashes=$(find "$OUT/$t/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
  printf '%-20s %12s %10s %8s %8s\n' "$t" "$(get execs_done)" "$(get execs_per_sec)" \
    "$(get corpus_count)" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    echo "  crashing inputs: $OUT/$t/default/crashes/" >&2
    failed=1
  fi
done
exit $failed
