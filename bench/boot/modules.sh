#!/usr/bin/env bash
# bench/boot/modules.sh [N]: boot modules (pxos boot --module) against the host, N runs each
# (default 5), medians, as a markdown table for docs/BENCHMARKS.md:
#   - the same programs' instructions per second in the kernel's ring-3 PixelVM (QEMU, ACCEL)
#     and in `pxos run` on the host (the peer, measured in the same run of this script);
#   - QEMU start (wall) and the kernel's first instruction (guest TSC) to the first module
#     instruction, on q35 and microvm, each boot path of PATHS (default "classic fast");
#   - a guest host call's round trip (clock_ms: SYSCALL gate + mailbox SYSCALL TIME_US), p50/p99,
#     beside the kernel's own NOP round trip from a self-test boot.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-5}
PXOS=${PXOS:-build/pxos}
ACCEL=${ACCEL:-tcg}
PARTS=${PARTS:-vm boot hostcall}  # which tables: vm (instructions/s), boot (to the first module), hostcall
part() { [[ " $PARTS " == *" $1 "* ]]; }
[ -x "$PXOS" ] || { echo "bench/boot: $PXOS not built (make build)"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fig() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }  # a figure pxos boot printed

echo "command: PXOS=$PXOS ACCEL=$ACCEL PARTS=\"$PARTS\" PATHS=\"${PATHS:-classic fast}\" bench/boot/modules.sh $N"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "qemu:    $(qemu-system-x86_64 --version | head -1), accel $ACCEL, q35 unless said; parts: $PARTS"
echo
declare -A ARGS=([fib]="" [loop]="" [sieve]="--memory-words 60000")
if part vm; then
echo "| program | instructions | host \`pxos run\` | guest (kernel, ring 3) | guest / host |"
echo "| --- | --- | --- | --- | --- |"
for p in fib loop sieve; do
  hs=() gs=()
  for i in $(seq "$N"); do
    "$PXOS" run --stats bench/vm/$p.pxasm ${ARGS[$p]} >"$TMP/hout" 2>"$TMP/hstat"
    hs+=("$(sed -n 's/.*instructions in \([0-9.]*\) s.*/\1/p' "$TMP/hstat")")
    steps=$(sed -n 's/^stats: \([0-9]*\) instructions.*/\1/p' "$TMP/hstat")
    "$PXOS" boot --accel "$ACCEL" --timeout 600 ${ARGS[$p]} --module bench/vm/$p.pxasm >"$TMP/gout" 2>"$TMP/gerr" ||
      { echo "boot $p failed:"; tail -5 "$TMP/gerr"; exit 1; }
    cmp -s "$TMP/hout" "$TMP/gout" || { echo "output differs on $p"; exit 1; }
    gsteps=$(fig "$TMP/gerr" guest_steps)
    [ "$gsteps" = "$steps" ] || { echo "step counts differ on $p: host $steps, guest $gsteps"; exit 1; }
    gs+=("$(fig "$TMP/gerr" guest_run_ns)")
  done
  h=$(printf '%s\n' "${hs[@]}" | median); g=$(printf '%s\n' "${gs[@]}" | median)
  awk -v p="$p" -v n="$steps" -v h="$h" -v g="$g" 'BEGIN {
    printf "| %s | %d | %.1f M instr/s | %.1f M instr/s | %.3fx |\n", p, n, n / h / 1e6, n / (g / 1e9) / 1e6, (n / (g / 1e9)) / (n / h) }'
done
echo
fi
# Boot to the first module instruction, per boot path (bench/boot/run.sh's BOOT_PATH: classic is
# SeaBIOS on q35 + QEMU's default devices + the PIT calibration; fast is pxos boot's default),
# the paths alternating boot by boot.
PATHS=${PATHS:-classic fast}
declare -A BOOT_PATH=([classic]="--firmware qemu --qemu-defaults --tsc pit" [fast]="")
echo "| boot to the first module instruction (examples/hello.pxasm, median of $N; load $(cut -d' ' -f1 /proc/loadavg)) | $(for p in $PATHS; do printf 'q35 %s | ' "$p"; done)$(for p in $PATHS; do printf 'microvm %s | ' "$p"; done)goal |"
echo "| --- | $(for p in $PATHS; do printf -- '--- | --- | '; done)--- |"
declare -A FM FK
part boot && for m in q35 microvm; do
  declare -A fm=() fk=()
  for i in $(seq "$N"); do
    for p in $PATHS; do
      # shellcheck disable=SC2086
      "$PXOS" boot --accel "$ACCEL" --machine $m ${BOOT_PATH[$p]} --module examples/hello.pxasm >/dev/null 2>"$TMP/b" || { echo "boot failed"; exit 1; }
      fm[$p]+="$(fig "$TMP/b" wall_first_module_ms) "; fk[$p]+="$(fig "$TMP/b" phase_first_module_instruction_ns) "
    done
  done
  for p in $PATHS; do
    FM[$m.$p]=$(printf '%s\n' ${fm[$p]} | median); FK[$m.$p]=$(printf '%s\n' ${fk[$p]} | median | awk '{printf "%.1f", $1 / 1e6}')
  done
  unset fm fk
done
if part boot; then
echo "| QEMU start → first module instruction (wall) | $(for m in q35 microvm; do for p in $PATHS; do printf '%s ms | ' "${FM[$m.$p]}"; done; done)< 150 ms on q35 TCG |"
echo "| kernel entry → first module instruction (guest TSC) | $(for m in q35 microvm; do for p in $PATHS; do printf '%s ms | ' "${FK[$m.$p]}"; done; done) |"
echo
fi
part hostcall || exit 0
p50=() p99=() pmax=() nop=()
for i in $(seq "$N"); do
  "$PXOS" boot --accel "$ACCEL" --module bench/boot/hostcalls.pxasm >/dev/null 2>"$TMP/h" || { echo "boot failed"; exit 1; }
  p50+=("$(fig "$TMP/h" guest_hostcall_p50_ns)"); p99+=("$(fig "$TMP/h" guest_hostcall_p99_ns)")
  pmax+=("$(fig "$TMP/h" guest_hostcall_max_ns)")
  "$PXOS" boot --accel "$ACCEL" --quiet >"$TMP/s" 2>&1 || { echo "self-test boot failed"; exit 1; }
  nop+=("$(fig "$TMP/s" mailbox_rtt_p50_ns)")
done
echo "| round trip (median over $N boots of each boot's figure) | p50 | p99 | max |"
echo "| --- | --- | --- | --- |"
echo "| guest host call clock_ms: HOST_CALL → SYSCALL → mailbox SYSCALL TIME_US → back (1024 samples a boot) | $(printf '%s\n' "${p50[@]}" | median) ns | $(printf '%s\n' "${p99[@]}" | median) ns | $(printf '%s\n' "${pmax[@]}" | median) ns |"
echo "| peer: the kernel's own NOP through the v1 registers (self-test boot, 200 samples) | $(printf '%s\n' "${nop[@]}" | median) ns | | |"
