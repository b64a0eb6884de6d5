#!/usr/bin/env bash
# bench/boot/cputime.sh [N]: CPU time (perf stat task-clock: user + system of QEMU and pxos,
# all threads), mean of N runs (default 8), of QEMU's floor (a -bios that exits at its reset
# vector), and of the baseline boot (no mailbox device: firmware, kernel, PCI scan, exit) on each
# path of PATHS. CPU time moves much less than wall time with the load of a shared machine, so
# this is the A/B to trust there; on an idle host, wall ≈ CPU for this single-vCPU boot.
set -euo pipefail
N=${1:-8}
PXOS=${PXOS:-build/pxos}
ACCEL=${ACCEL:-tcg}
PATHS=${PATHS:-classic fast}
declare -A BOOT_PATH=([classic]="--firmware qemu --qemu-defaults --tsc pit" [fast]=""
                      [fast-seabios]="--firmware qemu" [fast-defaults]="--qemu-defaults" [fast-pit]="--tsc pit")
[ -x "$PXOS" ] || { echo "bench/boot: $PXOS not built (make build)"; exit 1; }
command -v perf >/dev/null || { echo "bench/boot/cputime.sh: needs perf (Debian: linux-perf)"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
{ head -c 65520 /dev/zero; printf '\xb0\x21\xe6\xf4\xf4'; head -c 11 /dev/zero; } >"$TMP/exit.bin"
cpu_ms() {  # cpu_ms CMD...: mean task-clock ms over N runs (the command's exit status is ignored)
  perf stat -x, -r "$N" -e task-clock -- "$@" 2>&1 >/dev/null | awk -F, '$3 == "task-clock" { printf "%.1f\n", $1 }'
}
echo "command: PXOS=$PXOS ACCEL=$ACCEL PATHS=\"$PATHS\" bench/boot/cputime.sh $N"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-50s %10s %10s\n' "CPU ms, mean of $N" q35 microvm
row() { printf '%-50s %10s %10s\n' "$1" "$2" "$3"; }
fl=()
for m in q35 microvm,pcie=on; do
  fl+=("$(cpu_ms bash -c "qemu-system-x86_64 -M $m -m 128M -display none -monitor none -serial null -no-reboot -nic none \
    -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 -accel $ACCEL -bios $TMP/exit.bin; true")")
done
row "QEMU floor (exit at the reset vector)" "${fl[0]}" "${fl[1]}"
for p in $PATHS; do
  v=()
  for m in q35 microvm; do
    # shellcheck disable=SC2086
    v+=("$(cpu_ms bash -c "$PXOS boot --quiet --accel $ACCEL --machine $m ${BOOT_PATH[$p]} --no-ivshmem --no-mailboxd; true")")
  done
  row "baseline boot to the PCI scan, path $p" "${v[0]}" "${v[1]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
