#!/usr/bin/env bash
# bench/vm/run.sh: PixelVM against lua5.4 and luajit -joff (interpreter only) on the same eight
# programs (recursion, loops, memory, seed-style LOAD/STORE code, output); prints a markdown table
# of medians over RUNS runs (default 5) and the geometric mean of the ratios. `make bench-vm`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PXOS=${PXOS:-build/pxos}; LUA=${LUA:-lua5.4}; LUAJIT=${LUAJIT:-luajit}; RUNS=${RUNS:-5}
PROGRAMS=(fib tak loop sum sieve matmul bubble print)
declare -A ARGS=([fib]="" [tak]="" [loop]="" [sum]="" [sieve]="--memory-words 60000" [matmul]="--memory-words 12288"
                 [bubble]="--memory-words 3000" [print]="")

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# time_cmd CMD...: wall microseconds of one run (output discarded)
time_cmd() { local t0 t1; t0=$(date +%s%N); "$@" >/tmp/pxos-bench.out; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
measure() { local i; for ((i = 0; i < RUNS; i++)); do time_cmd "$@"; done | median; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "versions: $($PXOS --version), $($LUA -v 2>&1 | head -1), $($LUAJIT -v 2>&1 | head -1)"
echo "median of $RUNS runs, wall time of the whole process; ratios are pxos time / peer time (below 1: pxos faster)"
echo
echo "| program | pxos run | lua5.4 | luajit -joff | pxos / lua5.4 | pxos / luajit -joff |"
echo "| --- | --- | --- | --- | --- | --- |"
logl=0; logj=0
for p in "${PROGRAMS[@]}"; do
  # the same output from both (print writes megabytes: compare checksums)
  want=$($LUA bench/vm/$p.lua | cksum)
  got=$($PXOS run bench/vm/$p.pxasm ${ARGS[$p]} | cksum)
  [ "$want" = "$got" ] || { echo "output mismatch on $p (cksum): pxos $got, lua $want" >&2; exit 1; }
  tp=$(measure $PXOS run bench/vm/$p.pxasm ${ARGS[$p]})
  tl=$(measure $LUA bench/vm/$p.lua)
  tj=$(measure $LUAJIT -joff bench/vm/$p.lua)
  awk -v p="$p" -v tp="$tp" -v tl="$tl" -v tj="$tj" 'BEGIN {
    printf "| %s | %.3f s | %.3f s | %.3f s | %.2f | %.2f |\n", p, tp / 1e6, tl / 1e6, tj / 1e6, tp / tl, tp / tj }'
  logl=$(awk -v s="$logl" -v a="$tp" -v b="$tl" 'BEGIN { print s + log(a / b) }')
  logj=$(awk -v s="$logj" -v a="$tp" -v b="$tj" 'BEGIN { print s + log(a / b) }')
done
awk -v l="$logl" -v j="$logj" -v n="${#PROGRAMS[@]}" 'BEGIN {
  printf "| geometric mean | | | | %.2f | %.2f |\n", exp(l / n), exp(j / n) }'
echo
echo "commands: $PXOS run bench/vm/P.pxasm [--memory-words N]; $LUA bench/vm/P.lua; $LUAJIT -joff bench/vm/P.lua"
