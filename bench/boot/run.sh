#!/usr/bin/env bash
# bench/boot/run.sh [N]: boots the microkernel N times (default 10) on q35 and on microvm through
# `pxos boot --quiet` and prints the median of each figure: wall clock from QEMU start to the
# moment mailboxd printed "Hello from GPU OS!", and the kernel's own TSC phases and round trips.
# A baseline row boots without the ivshmem device (the kernel stops right after the PCI scan):
# that is QEMU + firmware + our early boot, the floor under the full figure.
set -euo pipefail
N=${1:-10}
PXOS=${PXOS:-build/pxos}
ACCEL=${ACCEL:-tcg}   # the goals are for TCG; ACCEL=kvm where /dev/kvm exists
[ -x "$PXOS" ] || { echo "bench/boot: $PXOS not built (make build)"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

median() {  # median of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fig() {  # fig FILE NAME: the value pxos boot printed for NAME
  awk -v k="$2" '$1 == k { print $2 }' "$1"
}

echo "command: PXOS=$PXOS ACCEL=$ACCEL bench/boot/run.sh $N"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "qemu:    $(qemu-system-x86_64 --version | head -1), accel $ACCEL"
echo

KEYS="wall_hello_ms wall_total_ms phase_long_mode_ns pci_scan_ns phase_pci_scan_done_ns phase_mailbox_ready_ns phase_hello_ns mailbox_rtt_min_ns mailbox_rtt_p50_ns mailbox_rtt_max_ns mailbox_uart_rtt_p50_ns ring_batch_ns"
for m in q35 microvm; do
  for i in $(seq "$N"); do
    "$PXOS" boot --quiet --accel "$ACCEL" --machine "$m" >"$TMP/$m.$i" 2>&1 || { echo "boot $m #$i failed:"; cat "$TMP/$m.$i"; exit 1; }
    # baseline: same machine, no mailbox device (the kernel exits after the PCI scan)
    "$PXOS" boot --quiet --accel "$ACCEL" --machine "$m" --no-ivshmem --no-mailboxd >"$TMP/$m.base.$i" 2>&1 || true
  done
  echo "## $m: median of $N boots"
  printf '%-28s %s\n' "baseline_wall_total_ms" "$(for i in $(seq "$N"); do fig "$TMP/$m.base.$i" wall_total_ms; done | median)"
  for k in $KEYS; do
    printf '%-28s %s\n' "$k" "$(for i in $(seq "$N"); do fig "$TMP/$m.$i" "$k"; done | median)"
  done
  echo
done
