#!/usr/bin/env bash
# bench/vm/run.sh: PixelVM against lua5.4 and luajit -joff (interpreter only) on the same four
# programs; prints a markdown table of medians over RUNS runs (default 5). `make bench-vm`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PXOS=${PXOS:-build/pxos}; LUA=${LUA:-lua5.4}; LUAJIT=${LUAJIT:-luajit}; RUNS=${RUNS:-5}
declare -A ARGS=([fib]="" [loop]="" [sieve]="--memory-words 60000" [matmul]="--memory-words 12288")

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# time_cmd CMD...: wall seconds of one run (output discarded), and the output's first line for checking
time_cmd() { local t0 t1; t0=$(date +%s%N); "$@" >/tmp/pxos-bench.out; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }  # µs
measure() { local i; for ((i = 0; i < RUNS; i++)); do time_cmd "$@"; done | median; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "versions: $($PXOS --version), $($LUA -v 2>&1 | head -1), $($LUAJIT -v 2>&1 | head -1)"
echo "median of $RUNS runs, wall time of the whole process"
echo
echo "| program | pxos run | lua5.4 | luajit -joff | lua5.4 time / pxos time | luajit time / pxos time |"
echo "| --- | --- | --- | --- | --- | --- |"
for p in fib loop sieve matmul; do
  want=$($LUA bench/vm/$p.lua)
  got=$($PXOS run bench/vm/$p.pxasm ${ARGS[$p]})
  [ "$want" = "$got" ] || { echo "output mismatch on $p: pxos $got, lua $want" >&2; exit 1; }
  tp=$(measure $PXOS run bench/vm/$p.pxasm ${ARGS[$p]})
  tl=$(measure $LUA bench/vm/$p.lua)
  tj=$(measure $LUAJIT -joff bench/vm/$p.lua)
  awk -v p="$p" -v tp="$tp" -v tl="$tl" -v tj="$tj" 'BEGIN {
    printf "| %s | %.3f s | %.3f s | %.3f s | %.2fx (%s) | %.2fx (%s) |\n", p, tp / 1e6, tl / 1e6, tj / 1e6,
      tl / tp, (tp < tl ? "pxos faster" : "pxos slower"), tj / tp, (tp <= tj ? "pxos faster" : "pxos slower") }'
done
echo
echo "commands: $PXOS run bench/vm/P.pxasm [--memory-words N]; $LUA bench/vm/P.lua; $LUAJIT -joff bench/vm/P.lua"
