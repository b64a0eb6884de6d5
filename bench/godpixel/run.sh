#!/usr/bin/env bash
# bench/godpixel/run.sh: god-pixel store put/get latency and throughput for 1 KiB .. 16 MiB
# payloads against the zstd CLI on the same bytes (median of RUNS runs), then the end-to-end
# `pxos god resurrect` of a 64 KiB program. Prints markdown for docs/BENCHMARKS.md.
# `make bench-godpixel` (or: PXOS=build/pxos bash bench/godpixel/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
PXOS=${PXOS:-build/pxos}; RUNS=${RUNS:-7}
D=$(mktemp -d /tmp/pxos-god-bench.XXXXXX)
trap 'rm -rf "$D"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "command: PXOS=$PXOS RUNS=$RUNS bash bench/godpixel/run.sh"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(df -T "$D" | awk 'NR==2 {print $2}') at $D"
echo "versions: $($PXOS --version), $(zstd --version | head -1)"
echo "median of $RUNS runs; put = hash + zstd -3 + write + fsync + link + index commit (fsync);"
echo "get warm = index lookup + read + decompress + SHA-256 check with the store open;"
echo "get cold = open the store (SQLite) + get; zstd CLI = one process each way, no fsync."
echo
$PXOS god bench --dir "$D" --runs "$RUNS"
echo

# End to end: a 64 KiB program through the real CLI, process start included.
od -An -v -tx1 -N 32768 /dev/urandom | tr -d ' \n' >"$D/prog.bin"  # 64 KiB of hex text: compressible about 2:1
$PXOS pack "$D/prog.bin" -o "$D/prog.pxi"
export PXOS_STORE=$D/cli-store
$PXOS god create "$D/prog.pxi" -o "$D/key.png" >/dev/null
for ((i = 0; i < RUNS; i++)); do
  t0=$(date +%s.%N); $PXOS god resurrect "$D/key.png" -o "$D/back.pxi" >/dev/null; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
done | median | awk '{printf "end to end: `pxos god resurrect key.png` of a 64 KiB program (process start, store open, get, verify, write .pxi): median %.2f ms\n", $1 * 1000}'
$PXOS unpack "$D/back.pxi" -o "$D/back.bin" && cmp "$D/back.bin" "$D/prog.bin" && echo "(resurrected bytes checked identical)"
