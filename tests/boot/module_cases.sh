#!/usr/bin/env bash
# module_cases.sh CASE: `pxos boot --module ...`: PixelVM programs run by the kernel's ring-3
# guest (the same src/vm interpreter, built freestanding), fetched through mailboxd's MODULE.
# One case per ctest entry (tests/boot/CMakeLists.txt); docs/microkernel.md, "Modules".
set -u
CASE=$1
PXOS=${PXOS:?PXOS must point at the pxos binary}
SRC=${PXOS_SOURCE_DIR:?}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export PXOS_STORE=$OUT/store
fails=0

fail() { echo "FAIL [$CASE]: $*"; fails=$((fails + 1)); }
has() { grep -qF -- "$1" "$OUT/err" || fail "stderr lacks: $1"; }
boot() {  # boot ARGS...: stdout (the modules' output) in $OUT/out, the rest in $OUT/err, $rc
  "$PXOS" boot --timeout 120 "$@" >"$OUT/out" 2>"$OUT/err"
  rc=$?
}
same_as_run() {  # same_as_run FILE: the guest printed exactly what `pxos run FILE` prints
  "$PXOS" run "$1" >"$OUT/want" 2>/dev/null || fail "pxos run $1 failed"
  cmp -s "$OUT/want" "$OUT/out" || fail "boot output differs from pxos run: $(diff "$OUT/want" "$OUT/out" | head -5)"
}
asm() { printf '%b' "$2" >"$OUT/$1.pxasm" && "$PXOS" asm "$OUT/$1.pxasm" -o "$OUT/$1.pxi" >/dev/null || fail "asm $1"; }
last_line() { tail -n 1 "$OUT/err"; }

case "$CASE" in
  sieve)
    boot --module "$SRC/examples/sieve.pxasm"
    [ "$rc" = 0 ] || fail "exit $rc, expected 0"
    same_as_run "$SRC/examples/sieve.pxasm"
    has "module 0: halted: $SRC/examples/sieve.pxasm"
    has "stat phase_first_module_instruction_ns="
    has "modules: 1 run, 0 failed"
    ;;
  key)
    # A program named by one pixel: the key resolves through the store on the host.
    cp "$SRC/examples/fib.pxasm" "$OUT/fib.pxasm"
    "$PXOS" god create "$OUT/fib.pxasm" -o "$OUT/fib.key.png" >/dev/null || fail "god create"
    "$PXOS" god bootstrap "$OUT/fib.pxasm" -o "$OUT/fib.boot.png" >/dev/null || fail "god bootstrap"
    boot --module "$OUT/fib.key.png" "$OUT/fib.boot.png"
    [ "$rc" = 0 ] || fail "exit $rc, expected 0"
    "$PXOS" run "$OUT/fib.pxasm" >"$OUT/one" && cat "$OUT/one" "$OUT/one" >"$OUT/want"
    cmp -s "$OUT/want" "$OUT/out" || fail "key + bootstrap output differs from two pxos runs"
    has "modules: 2 run, 0 failed"
    ;;
  archive)
    # An archive entry: its manifest's limits apply (max_steps 1000000 here, lowered to 50).
    "$PXOS" archive create "$OUT/demo.pxa" "$SRC/examples/demo-archive" >/dev/null || fail "archive create"
    boot --module "$OUT/demo.pxa:sieve"
    [ "$rc" = 0 ] || fail "exit $rc, expected 0"
    "$PXOS" hv run "$OUT/demo.pxa" sieve >"$OUT/want" 2>/dev/null || fail "hv run"
    cmp -s "$OUT/want" "$OUT/out" || fail "archive entry output differs from pxos hv run"
    sed 's/"max_steps": 1000000/"max_steps": 50/' "$SRC/examples/demo-archive/manifest.json" >"$OUT/m.json"
    mkdir -p "$OUT/small" && cp "$SRC"/examples/demo-archive/*.pxasm "$OUT/small/" && cp "$OUT/m.json" "$OUT/small/manifest.json"
    "$PXOS" archive create "$OUT/small.pxa" "$OUT/small" >/dev/null || fail "archive create (small)"
    boot --module "$OUT/small.pxa:sieve"
    [ "$rc" = 6 ] || fail "exit $rc, expected 6 (a module trap: the manifest's step limit)"
    has "step limit of 50 instructions reached"
    ;;
  hostile)
    # a and b run; hostile traps (a store far outside its memory) and is reported with its
    # source line; the kernel goes on with b.
    asm a '    PUSH 1\n    PRINT\n    HALT\n'
    asm hostile '; writes outside its memory\n    PUSH 7\n    PUSH 100000\n    STOREI\n    HALT\n'
    asm b '    PUSH 2\n    PRINT\n    HALT\n'
    boot --module "$OUT/a.pxi" "$OUT/hostile.pxi" "$OUT/b.pxi"
    [ "$rc" = 6 ] || fail "exit $rc, expected 6 (trap)"
    printf '1\n2\n' | cmp -s - "$OUT/out" || fail "a and b did not both print: $(cat "$OUT/out")"
    has "module 1: trap: $OUT/hostile.pxasm:4: offset 0x000a: STOREI: memory address out of range"
    has "modules: 3 run, 1 failed"
    last_line | grep -qF "pxos: boot: module 1 ($OUT/hostile.pxi): trap: $OUT/hostile.pxasm:4" || fail "last line: $(last_line)"
    ;;
  capability)
    # A module lacking a capability traps naming it; granted, the gate still refuses HALT.
    asm mb '    PUSH 0x8F000000\n    HOST_CALL 6\n    PRINT\n    PRINT\n    HALT\n'
    boot --module "$OUT/mb.pxi"
    [ "$rc" = 6 ] || fail "exit $rc, expected 6"
    has "host call 'mailbox' needs capability 'mailbox', which is not granted"
    boot --grant mailbox --module "$OUT/mb.pxi"
    [ "$rc" = 0 ] || fail "exit $rc with the grant, expected 0"
    printf -- '-1\n-1\n' | cmp -s - "$OUT/out" || fail "the gate let HALT through: $(cat "$OUT/out")"
    has "mailbox: HALT sent"
    ;;
  probe_port|probe_kmem)
    # Even a module that got out of the interpreter is held by ring 3: the guest runtime itself
    # touches an I/O port or kernel memory; the CPU faults, the kernel says so and goes on.
    asm a '    PUSH 1\n    PRINT\n    HALT\n'
    p=1; v=13
    [ "$CASE" = probe_kmem ] && p=2 && v=14
    boot --guest-probe $p --module "$OUT/a.pxi" "$OUT/a.pxi"
    [ "$rc" = 18 ] || fail "exit $rc, expected 18 (sandbox)"
    has "module 0: FAIL: contained: the guest took a CPU exception in ring 3 (vector $v)"
    has "module 1: FAIL: contained"
    has "modules: 2 run, 2 failed"
    [ ! -s "$OUT/out" ] || fail "a probed module printed: $(cat "$OUT/out")"
    ;;
  missing)
    asm a '    PUSH 1\n    PRINT\n    HALT\n'
    boot --module "$OUT/nope.pxi" "$OUT/a.pxi"
    [ "$rc" = 11 ] || fail "exit $rc, expected 11 (not found)"
    printf '1\n' | cmp -s - "$OUT/out" || fail "the next module did not run"
    has "mailboxd: module 0: $OUT/nope.pxi"
    last_line | grep -qF "pxos: boot: module 0 ($OUT/nope.pxi): $OUT/nope.pxi:" || fail "last line: $(last_line)"
    ;;
  unknown_key)
    cp "$SRC/examples/fib.pxasm" "$OUT/fib.pxasm"
    "$PXOS" god create "$OUT/fib.pxasm" -o "$OUT/fib.key.png" >/dev/null || fail "god create"
    PXOS_STORE=$OUT/empty boot --module "$OUT/fib.key.png"
    [ "$rc" = 11 ] || fail "exit $rc, expected 11 (not found)"
    has "unknown key"
    ;;
  tampered)
    # The store object behind fib's key replaced by another program's: the hash check refuses it.
    cp "$SRC/examples/fib.pxasm" "$OUT/fib.pxasm"
    cp "$SRC/examples/hello.pxasm" "$OUT/hello.pxasm"
    "$PXOS" god create "$OUT/fib.pxasm" -o "$OUT/fib.key.png" >/dev/null || fail "god create fib"
    fib_obj=$(find "$PXOS_STORE/objects" -type f)
    "$PXOS" god create "$OUT/hello.pxasm" -o "$OUT/hello.key.png" >/dev/null || fail "god create hello"
    hello_obj=$(find "$PXOS_STORE/objects" -type f | grep -v "$fib_obj")
    cp "$hello_obj" "$fib_obj"
    boot --module "$OUT/fib.key.png"
    [ "$rc" = 4 ] || fail "exit $rc, expected 4 (hash mismatch)"
    has "module 0: FAIL: tampered"
    ;;
  too_large)
    # One PRINT_STR of 1 MiB: more than the 960 KiB data area of the 1 MiB mailbox.
    python3 -c "print('    PRINT_STR \"' + 'x' * (1 << 20) + '\"\n    HALT')" >"$OUT/big.pxasm"
    boot --module "$OUT/big.pxasm"
    [ "$rc" = 23 ] || fail "exit $rc, expected 23 (larger than the data area)"
    has "do not fit the data area"
    has "module 0: FAIL: too large"
    ;;
  unverified)
    # It assembles, but execution can fall off its end: the kernel's own verifier refuses it.
    asm fall '    PUSH 1\n    PRINT\n'
    boot --module "$OUT/fall.pxi"
    [ "$rc" = 5 ] || fail "exit $rc, expected 5 (verifier)"
    has "module 0: rejected by the verifier:"
    has "execution can fall off the end"
    ;;
  gpu)
    # A module's gpu host call: matmul_i32.wgsl through GPU_EXECUTE on mailboxd's webgpu backend
    # (lavapipe here), checked by the module against its own CPU loop.
    boot --backend webgpu --grant gpu --module "$SRC/examples/gpu_matmul.pxasm"
    [ "$rc" = 0 ] || fail "exit $rc, expected 0"
    grep -qxF "gpu_matmul: 64 of 64 elements match the CPU reference" "$OUT/out" || fail "no match line: $(cat "$OUT/out")"
    grep -qF "mismatch" "$OUT/out" && fail "mismatches reported"
    # The cpu backend has no such kernel: the module gets GPU_FAILED (10) back, not a trap.
    boot --grant gpu --module "$SRC/examples/gpu_matmul.pxasm"
    [ "$rc" = 0 ] || fail "exit $rc on the cpu backend, expected 0"
    grep -qF "the gpu call failed; mailbox error code:" "$OUT/out" && tail -n 1 "$OUT/out" | grep -qx 10 ||
      fail "cpu backend: $(cat "$OUT/out")"
    # Without the capability the call traps naming it.
    boot --backend webgpu --module "$SRC/examples/gpu_matmul.pxasm"
    [ "$rc" = 6 ] || fail "exit $rc without the grant, expected 6"
    has "host call 'gpu' needs capability 'gpu', which is not granted"
    ;;
  gpu_bad_offsets)
    # A buffer past the module's memory: the guest refuses the call before anything is placed.
    asm bad '    PUSH 3\n    STORE 0\n    PUSH 97\n    STORE 1\n    PUSH 98\n    STORE 2\n    PUSH 99\n    STORE 3\n    PUSH 1\n    STORE 4\n    PUSH 1\n    STORE 5\n    PUSH 1\n    STORE 6\n    PUSH 1\n    STORE 7\n    PUSH 1000\n    STORE 8\n    PUSH 100\n    STORE 9\n    PUSH 0\n    HOST_CALL 7\n    PRINT\n    HALT\n'
    asm a '    PUSH 1\n    PRINT\n    HALT\n'
    boot --backend webgpu --grant gpu --module "$OUT/bad.pxi" "$OUT/a.pxi"
    [ "$rc" = 13 ] || fail "exit $rc, expected 13 (gpu error)"
    has "gpu: bad buffer offsets: buffer 0 [1000, 1000+100) is outside memory (1024 words)"
    printf '1\n' | cmp -s - "$OUT/out" || fail "the next module did not run"
    ;;
  json)
    # --json: one object on stdout, the modules' output a field of it; a failing boot still
    # prints its report, then one line on stderr and the module's exit status.
    asm a '    PUSH 1\n    PRINT\n    HALT\n'
    asm hostile '    PUSH 7\n    PUSH 100000\n    STOREI\n    HALT\n'
    boot --json --module "$OUT/a.pxi"
    [ "$rc" = 0 ] || fail "exit $rc, expected 0"
    python3 - "$OUT/out" <<'PY' || fail "good boot's JSON: $(head -c 600 "$OUT/out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["passed"] is True and j["output"] == "1\n" and j["module_failures"] == [], j
assert j["machine"] == "q35" and j["accel"] == "tcg" and j["kernel_exit"] >= 0, j
assert j["figures"]["phase_first_module_instruction_ns"] > 0 and j["wall_total_ms"] > 0, j
assert j["wall_first_module_ms"] is None or j["wall_first_module_ms"] > 0, j
PY
    boot --json --module "$OUT/hostile.pxi" "$OUT/a.pxi"
    [ "$rc" = 6 ] || fail "exit $rc, expected 6 (trap)"
    python3 - "$OUT/out" <<'PY' || fail "failed boot's JSON: $(head -c 600 "$OUT/out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["passed"] is False and j["output"] == "1\n" and len(j["module_failures"]) == 1, j
assert "trap" in j["module_failures"][0], j
PY
    [ "$(wc -l <"$OUT/err")" = 1 ] || fail "stderr is not one line: $(cat "$OUT/err")"
    last_line | grep -qF "pxos: boot: module 0 ($OUT/hostile.pxi): trap:" || fail "last line: $(last_line)"
    ;;
  *)
    echo "unknown case $CASE"
    exit 2
    ;;
esac

if [ "$fails" != 0 ]; then
  echo "---- stderr ($CASE) ----"
  cat "$OUT/err"
  echo "---- stdout ($CASE) ----"
  head -c 2000 "$OUT/out"
  exit 1
fi
echo "PASS [$CASE]"
