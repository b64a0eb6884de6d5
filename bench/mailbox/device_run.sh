#!/usr/bin/env bash
# bench/mailbox/device_run.sh DIR: the mailbox figures on a GPU machine, from prebuilt binaries
# in DIR (pxos, pxos_mailbox_bench, mbclient, libfmt): the cpu backend benchmark (x3), the cuda
# backend's correctness checks and latency (persistent kernel polling pinned host memory), and
# the cuda daemon's host-thread CPU cost while idle. Output under $OUT (or ./out).
set -uo pipefail
d=$1; out=${OUT:-out}; mkdir -p "$out"
export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores; $(nvidia-smi -L 2>/dev/null | head -1)"
"$d/test_mailbox_server" --gtest_brief=1 2>&1 | tail -3
echo "== cpu backend (in-process server thread, client cpu 2, server cpu 3)"
for r in 1 2 3; do "$d/pxos_mailbox_bench" --n 1000000 --client-cpu 2 --server-cpu 3 >"$out/cpu$r.txt"; done
cat "$out"/cpu*.txt | awk '/^RESULT/ {v[$2]=v[$2] " " $3} END {for (k in v) print k, v[k]}' | sort
echo "== cuda backend"
rm -f /dev/shm/pxmbcuda
"$d/pxos" mailboxd --backend cuda --shm pxmbcuda --cpu 4 --uart "$out/uart.txt" 2>"$out/cuda_daemon.txt" & pid=$!
for i in $(seq 100); do grep -q serving "$out/cuda_daemon.txt" 2>/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
cat "$out/cuda_daemon.txt"
mb() { "$d/mbclient" --shm pxmbcuda "$@"; }
echo "ADD (gpu):   $(mb call 0x85 3 40 2)"
echo "ECHO (gpu):  $(mb call 0x85 2 7 9)"
echo "NOP (gpu):   $(mb call 0x88 0x55 0 0)"
echo "ALLOC (host):$(mb call 0x86 0 100 0)"
echo "BAD (host):  $(mb call 0x42 0 0 0)"
mb puts "uart through the cuda backend" && echo "UART: $(cat "$out/uart.txt")"
echo "RING: $(mb ring 10000)"
sleep 0.5
a=$(awk '{print $1}' /proc/$pid/schedstat); sleep 2; b=$(awk '{print $1}' /proc/$pid/schedstat)
echo "RESULT cuda_idle_host_cpu_pct $(awk -v a=$a -v b=$b 'BEGIN {printf "%.2f", (b-a)/2e9*100}')"
"$d/mbclient" --shm pxmbcuda call 0x8f 0 0 0 >/dev/null; wait $pid; echo "daemon exit $?"; tail -12 "$out/cuda_daemon.txt"
for polls in 1 4 8; do
  echo "== cuda backend, PXOS_MAILBOX_CUDA_POLLS=$polls"
  rm -f /dev/shm/pxmbcuda
  PXOS_MAILBOX_CUDA_POLLS=$polls "$d/pxos" mailboxd --backend cuda --shm pxmbcuda --cpu 4 --quiet & pid=$!
  sleep 1.5
  for r in 1 2; do "$d/pxos_mailbox_bench" --shm pxmbcuda --n 200000 --client-cpu 2 >"$out/cuda${polls}_$r.txt" 2>&1 || tail -2 "$out/cuda${polls}_$r.txt"; done
  cat "$out"/cuda${polls}_*.txt | awk '/^RESULT/ {v[$2]=v[$2] " " $3} END {for (k in v) print k, v[k]}' | sort | grep -v tsc
  "$d/mbclient" --shm pxmbcuda call 0x8f 0 0 0 >/dev/null; wait $pid; echo "daemon exit $?"
done
