#!/usr/bin/env bash
# The cluster's produce figures beside a single broker's, in one run on this machine: a standalone
# broker and a three-broker cluster (`strata cluster up`) run side by side on free ports, each gets the
# same topic (3 partitions; replication factor 3 in the cluster) and the same `strata perf produce`
# runs, one at a time, alternating single / cluster so load from elsewhere falls on both.
#
#   npm run build && bash bench/cluster-vs-single.sh [SCALE]
#
# SCALE (default 1) multiplies the record counts; 0.05 is a smoke test. Prints one line per run:
# target, case, then perf's own summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
CLI="node dist/broker/cli.js"
[ -f dist/broker/cli.js ] || { echo "dist/ is missing: run npm run build first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
records() { node -e "console.log(Math.max(1000, Math.round($1 * $SCALE)))"; }

single_port=$(free_port)
$CLI broker start --data "$work/single" --listen "127.0.0.1:$single_port" --http 127.0.0.1:0 >"$work/single.log" 2>&1 &
pids+=($!)
$CLI cluster up --nodes 3 --data "$work/cluster" --base-port 0 >"$work/cluster.log" 2>&1 &
pids+=($!)
# cluster up prints its bootstrap list once a controller exists and every broker registered.
for _ in $(seq 1 120); do grep -q '^\[cluster\] bootstrap: ' "$work/cluster.log" && break; sleep 0.5; done
grep -q '^\[cluster\] bootstrap: ' "$work/cluster.log" || { echo "the cluster did not come up:" >&2; cat "$work/cluster.log" >&2; exit 1; }
SINGLE="127.0.0.1:$single_port"
CLUSTER=$(sed -n 's/^\[cluster\] bootstrap: //p' "$work/cluster.log")
$CLI topic create perf --partitions 3 --bootstrap "$SINGLE" --timeout-ms 30000 >/dev/null
$CLI topic create perf --partitions 3 --replication-factor 3 --bootstrap "$CLUSTER" --timeout-ms 30000 >/dev/null

run() { # name, perf args...
  local name=$1; shift
  for target in single cluster; do
    local bootstrap=$SINGLE
    [ "$target" = cluster ] && bootstrap=$CLUSTER
    printf '%-8s %-44s ' "$target" "$name"
    $CLI perf produce --topic perf --bootstrap "$bootstrap" --acks all "$@" 2>&1 | tail -1
  done
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), scale $SCALE"
run "1 KiB, client defaults" --records "$(records 100000)" --record-size 1024
run "1 KiB, batch 1 MB, linger 20 ms" --records "$(records 200000)" --record-size 1024 --batch-size 1000000 --linger-ms 20
run "100 B, batch 1 MB, linger 20 ms" --records "$(records 2000000)" --record-size 100 --batch-size 1000000 --linger-ms 20
run "1 KiB at 5,000 records/s (latency)" --records "$(records 55000)" --record-size 1024 --throughput 5000 --warmup-records "$(records 5000)"
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
