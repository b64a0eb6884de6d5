#!/usr/bin/env bash
# bench/mailbox/run.sh [BUILD_DIR]: mailbox latency / throughput / CPU-cost benchmark.
# Runs pxos_mailbox_bench RUNS times (default 3) and prints the median of each figure with
# the machine it ran on. RUNS, N (commands per latency test, default 1000000) override.
set -euo pipefail
build=${1:-build}
bin=$build/src/mailbox/pxos_mailbox_bench
[ -x "$bin" ] || { echo "bench/mailbox: $bin not built (make build)"; exit 1; }
runs=${RUNS:-3}; n=${N:-1000000}
cores=$(nproc)
# Client and server on different cores when there are at least 2.
pins=(); if [ "$cores" -ge 4 ]; then pins=(--client-cpu 2 --server-cpu 3); elif [ "$cores" -ge 2 ]; then pins=(--client-cpu 0 --server-cpu 1); fi
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# goals (issue 7): v1 p50 < 300 ns and p99 < 1000 ns; ring >= 20 M cmds/s batched; idle < 5 % of a core"
echo "# command: $bin --n $n ${pins[*]}   (x$runs, medians)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$runs"); do "$bin" --n "$n" "${pins[@]}" >"$tmp/run$r"; done
cat "$tmp"/run* | awk '/^RESULT/ {v[$2]=v[$2] " " $3} END {for (k in v) print k, v[k]}' | sort | while read -r key vals; do
  med=$(echo $vals | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf "%-36s %12s   (runs:%s)\n" "$key" "$med" "$(echo " $vals")"
done
