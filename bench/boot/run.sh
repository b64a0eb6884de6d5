#!/usr/bin/env bash
# bench/boot/run.sh [N]: boots the microkernel N times (default 10) on q35 and on microvm through
# `pxos boot --quiet` and prints the median of each figure: wall clock from QEMU start to the
# moment mailboxd printed "Hello from GPU OS!", and the kernel's own TSC phases and round trips.
# Each boot path of PATHS (default "classic fast", see BOOT_PATH below) boots in turn, A B A B ..,
# so that a load change on this shared machine hits every path alike. A baseline row boots
# without the ivshmem device (the kernel stops right after the PCI scan): QEMU + firmware + our
# early boot. The QEMU floor row boots a 64 KiB -bios whose reset vector exits at once through
# isa-debug-exit: QEMU's own start and exit, with no firmware and no kernel, under everything.
set -euo pipefail
N=${1:-10}
PXOS=${PXOS:-build/pxos}
ACCEL=${ACCEL:-tcg}   # the goals are for TCG; ACCEL=kvm where /dev/kvm exists
PATHS=${PATHS:-classic fast}
MACHINES=${MACHINES:-q35 microvm}
# The boot paths: pxos boot flags. classic: the path before issue 16.5 (SeaBIOS on q35, QEMU's
# default devices, the kernel's 5 ms PIT calibration); fast: pxos boot's default (qboot,
# -nodefaults, the host's TSC rate as tsc_khz=); the others take one part of fast away.
declare -A BOOT_PATH=([classic]="--firmware qemu --qemu-defaults --tsc pit" [fast]=""
                      [fast-seabios]="--firmware qemu" [fast-defaults]="--qemu-defaults" [fast-pit]="--tsc pit")
[ -x "$PXOS" ] || { echo "bench/boot: $PXOS not built (make build)"; exit 1; }
for p in $PATHS; do [ -n "${BOOT_PATH[$p]+x}" ] || { echo "bench/boot: unknown path $p (${!BOOT_PATH[*]})"; exit 1; }; done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The floor's firmware: zeros, then at the reset vector (the last 16 bytes) mov al, 0x21;
# out 0xf4, al; hlt.
{ head -c 65520 /dev/zero; printf '\xb0\x21\xe6\xf4\xf4'; head -c 11 /dev/zero; } >"$TMP/exit.bin"
floor_ms() {  # floor_ms MACHINE: wall ms of QEMU with the exit-at-reset firmware
  local q=$1 t0 t1 rc=0
  [ "$q" = microvm ] && q=microvm,pcie=on
  t0=$(date +%s%N)
  qemu-system-x86_64 -M "$q" -m 128M -display none -monitor none -serial stdio -no-reboot -nic none -nodefaults \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -accel "$ACCEL" -bios "$TMP/exit.bin" >/dev/null 2>&1 || rc=$?
  t1=$(date +%s%N)
  [ "$rc" = 67 ] || { echo "bench/boot: the floor firmware did not exit through isa-debug-exit (QEMU status $rc)" >&2; return 1; }
  echo $(((t1 - t0) / 1000))e-3
}

median() {  # median of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fig() {  # fig FILE NAME: the value pxos boot printed for NAME
  awk -v k="$2" '$1 == k { print $2 }' "$1"
}

echo "command: PXOS=$PXOS ACCEL=$ACCEL PATHS=\"$PATHS\" bench/boot/run.sh $N"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "qemu:    $(qemu-system-x86_64 --version | head -1), accel $ACCEL"
for p in $PATHS; do echo "path $p: pxos boot ${BOOT_PATH[$p]:-(defaults)}"; done
echo

KEYS="wall_hello_ms wall_total_ms wall_prelaunch_ms phase_long_mode_ns phase_syscall_gate_ready_ns phase_tsc_rate_known_ns phase_acpi_done_ns pci_scan_ns phase_pci_scan_done_ns phase_mailbox_ready_ns phase_hello_ns mailbox_rtt_min_ns mailbox_rtt_p50_ns mailbox_rtt_max_ns mailbox_uart_rtt_p50_ns ring_batch_ns tsc_khz tsc_source"
for m in $MACHINES; do
  for i in $(seq "$N"); do
    floor_ms "$m" >>"$TMP/$m.floor"
    for p in $PATHS; do
      # shellcheck disable=SC2086 # the path's flags are words
      "$PXOS" boot --quiet --accel "$ACCEL" --machine "$m" ${BOOT_PATH[$p]} >"$TMP/$m.$p.$i" 2>&1 ||
        { echo "boot $m $p #$i failed:"; cat "$TMP/$m.$p.$i"; exit 1; }
      # baseline: same machine and path, no mailbox device (the kernel exits after the PCI scan)
      # shellcheck disable=SC2086
      "$PXOS" boot --quiet --accel "$ACCEL" --machine "$m" ${BOOT_PATH[$p]} --no-ivshmem --no-mailboxd >"$TMP/$m.$p.base.$i" 2>&1 || true
    done
  done
  echo "## $m: median of $N boots per path (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '%-28s' "figure"; for p in $PATHS; do printf ' %14s' "$p"; done; echo
  printf '%-28s %14s  (any path)\n' "qemu_floor_ms" "$(median <"$TMP/$m.floor")"
  printf '%-28s' "baseline_wall_total_ms"
  for p in $PATHS; do printf ' %14s' "$(for i in $(seq "$N"); do fig "$TMP/$m.$p.base.$i" wall_total_ms; done | median)"; done; echo
  for k in $KEYS; do
    printf '%-28s' "$k"
    for p in $PATHS; do printf ' %14s' "$(for i in $(seq "$N"); do fig "$TMP/$m.$p.$i" "$k"; done | median)"; done; echo
  done
  echo
done
