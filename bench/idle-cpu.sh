#!/usr/bin/env bash
# CPU of the brokers of an idle three-node cluster (issue 10's goal: < 1 % each).
#
# usage: bench/idle-cpu.sh [SECONDS] [RUNS]     (after `npm run build`; defaults 60 s, 3 runs)
#   env: IDLE_BASE_PORT (default random in 20000..59000),
#        IDLE_NODE_ARGS (extra node flags, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof),
#        IDLE_BROKER_ARGS (extra `broker start` flags, e.g. --config raft.json with {"raftHeartbeatTicks": 5}
#        or {"offsetsTopicPartitions": 50})
#
# Each run starts three brokers from dist/ with their data in a fresh temp dir (deleted afterwards),
# waits until the controller created `__consumer_offsets` (`offsetsTopicPartitions`, 16 by default,
# RF 3: every broker hosts a replica of each plus the metadata group), lets them settle 10 s more,
# then reads utime+stime from /proc/PID/stat at both ends of the window. It prints each broker's
# CPU % per run, then the min and median over the runs per broker.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_WINDOW=${1:-60}
RUNS=${2:-3}
HZ=$(getconf CLK_TCK)
ALL=()
for run in $(seq 1 "$RUNS"); do
  BASE=${IDLE_BASE_PORT:-$((20000 + RANDOM % 39000))}
  DIR=$(mktemp -d /tmp/strata-idle.XXXXXX)
  P="1@127.0.0.1:$((BASE + 1)),2@127.0.0.1:$((BASE + 2)),3@127.0.0.1:$((BASE + 3))"
  PIDS=()
  for n in 1 2 3; do
    # shellcheck disable=SC2086 # the *_ARGS are word-split on purpose
    node ${IDLE_NODE_ARGS:-} dist/broker/cli.js broker start --node-id $n --peers "$P" --listen 127.0.0.1:$((BASE + n)) \
      --http 127.0.0.1:$((BASE + 10 + n)) --data "$DIR/n$n" --log-level warn ${IDLE_BROKER_ARGS:-} > "$DIR/n$n.log" 2>&1 &
    PIDS+=($!)
  done
  trap 'kill -INT "${PIDS[@]}" 2>/dev/null || true' EXIT
  ready=no
  for _ in $(seq 1 120); do
    if node dist/broker/cli.js topic list --internal --bootstrap 127.0.0.1:$((BASE + 1)) --timeout-ms 2000 2>/dev/null | grep -q __consumer_offsets; then ready=yes; break; fi
    sleep 1
  done
  [ "$ready" = yes ] || echo "run $run: __consumer_offsets not created after 120 tries; measuring anyway (see $DIR/n*.log)" >&2
  sleep 10
  cpu() { for pid in "${PIDS[@]}"; do awk '{print $14+$15}' "/proc/$pid/stat"; done; }
  a=($(cpu)); sleep "$SECONDS_WINDOW"; b=($(cpu))
  line="run $run (ports $BASE+, load $(cut -d' ' -f1 /proc/loadavg)):"
  for i in 0 1 2; do
    pct=$(echo "scale=2; (${b[$i]}-${a[$i]})*100/$HZ/$SECONDS_WINDOW" | bc)
    ALL+=("$i $pct")
    line="$line broker $((i + 1)) ${pct}%"
  done
  echo "$line"
  kill -INT "${PIDS[@]}"; wait "${PIDS[@]}" 2>/dev/null || true
  trap - EXIT
  rm -rf "$DIR"
done
for i in 0 1 2; do
  vals=$(printf '%s\n' "${ALL[@]}" | awk -v b=$i '$1 == b {print $2}' | sort -n)
  n=$(echo "$vals" | wc -l)
  echo "broker $((i + 1)): min $(echo "$vals" | head -1)%, median $(echo "$vals" | sed -n "$(((n + 1) / 2))p")% over $n runs of ${SECONDS_WINDOW} s"
done
