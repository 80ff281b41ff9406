#!/usr/bin/env bash
# End-to-end load benchmarks of a Release build, through `mlectl bench` against a real mled on
# loopback, beside the loopback TCP bandwidth measured by iperf3 in the same run.
#
#   bench/e2e.sh [BUILD_DIR]        (default: build; run scripts/build build first)
#
# Prints one line per measurement; bench/README.md records the results. Each run is bounded
# (a few seconds each, about 4 minutes in all) and uses only 127.0.0.1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
mled=$build/daemon/mled
mlectl=$build/tools/mlectl/mlectl
duration=${MLED_BENCH_DURATION:-8s}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_mled() {  # start_mled [flags...]: sets MLED_PID and MLED_ADDR
  "$mled" --listen=127.0.0.1:0 --udp= "$@" >"$work/mled.out" 2>"$work/mled.err" &
  MLED_PID=$!
  pids+=("$MLED_PID")
  for _ in $(seq 100); do
    if grep -q "listening on tcp" "$work/mled.out"; then break; fi
    sleep 0.1
  done
  MLED_ADDR=$(sed -n 's/.*listening on tcp \([0-9.]*:[0-9]*\),.*/\1/p' "$work/mled.out")
  [ -n "$MLED_ADDR" ] || { echo "mled did not start: $(cat "$work/mled.err")" >&2; exit 1; }
}

stop_mled() {
  kill -TERM "$MLED_PID"
  wait "$MLED_PID" || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"

# Loopback bandwidth with 128 KiB writes.
if command -v iperf3 >/dev/null; then
  port=$((20000 + RANDOM % 20000))
  iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  pids+=($!)
  sleep 0.5
  iperf3 -c 127.0.0.1 -p "$port" -l 128K -t 5 -J >"$work/iperf.json"
  python3 - "$work/iperf.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]
print(f"iperf3 loopback, 128 KiB writes: {s / 8 / 1e9:.2f} GB/s")
PY
fi

run() {  # run LABEL [bench flags...]
  local label=$1; shift
  local line
  line=$("$mlectl" bench --addr="$MLED_ADDR" --duration="$duration" --json "$@" 2>/dev/null | tail -n 1)
  echo "$label: $line"
}

start_mled
run "StreamBatch 10000 values, 1 connection" --mode=batch --batch=10000 --streams=100 --connections=1 --window=64
run "StreamBatch 10000 values, 2 connections" --mode=batch --batch=10000 --streams=100 --connections=2 --window=64
run "Sample batches of 1000, 10000 streams, 1 connection" --mode=sample --batch=1000 --streams=10000 --connections=1 --window=64
run "Sample batches of 1000, 10000 streams, 2 connections" --mode=sample --batch=1000 --streams=10000 --connections=2 --window=64
stop_mled

# The cost of anomaly scoring end to end: the same loads with every sample scored (the default
# rule) and with scoring off, alternating so that drift in the machine's load hits both alike.
no_scoring='--default_rule=anomaly { enabled: false }'
for round in 1 2; do
  for scoring in off on; do
    if [ "$scoring" = off ]; then start_mled "$no_scoring"; else start_mled; fi
    run "scoring $scoring (round $round): StreamBatch 10000 values, 1 connection" --mode=batch --batch=10000 --streams=100 --connections=1 --window=64
    run "scoring $scoring (round $round): Sample batches of 1000, 10000 streams, 1 connection" --mode=sample --batch=1000 --streams=10000 --connections=1 --window=64
    stop_mled
  done
done

# 1M streams: throughput, and resident memory per stream once all exist.
start_mled
rss_before=$(rss_kib "$MLED_PID")
run "Sample batches of 1000, 1000000 streams, 2 connections" --mode=sample --batch=1000 --streams=1000000 --connections=2 --window=64
streams=$("$mlectl" stats --addr="$MLED_ADDR" --json | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(int(d.get("stats", d).get("streams", 0)))')
rss_after=$(rss_kib "$MLED_PID")
echo "RSS: ${rss_before} KiB idle, ${rss_after} KiB with ${streams} univariate streams:" \
  "$(( (rss_after - rss_before) * 1024 / (streams > 0 ? streams : 1) )) bytes per stream"
stop_mled
