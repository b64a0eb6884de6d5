#!/usr/bin/env bash
# toolchain_test.sh: asm/disasm/run/pack/unpack/inspect through the real binary: the good
# paths, and every bad input gets one line on stderr, a non-zero exit and no output file.
set -uo pipefail
PXOS=${PXOS:?}; SRC=${PXOS_SOURCE_DIR:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then ok; else bad "$name"; fi; }

# expect_fail NAME NEEDLE CMD...: non-zero exit, exactly one stderr line containing NEEDLE, empty stdout
expect_fail() {
  local name=$1 needle=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then bad "$name: stderr not one line: $(cat "$T/err")"; return; fi
  if ! grep -qF -- "$needle" "$T/err"; then bad "$name: stderr lacks '$needle': $(cat "$T/err")"; return; fi
  if [ -s "$T/out" ]; then bad "$name: wrote to stdout"; return; fi
  ok
}

# good path: assemble, inspect, run, disassemble, reassemble
check asm "$PXOS" asm "$SRC/examples/fib.pxasm" -o "$T/fib.pxi"
check is-png bash -c "head -c 8 '$T/fib.pxi' | od -An -tx1 | grep -q '89 50 4e 47'"
check run-pxi bash -c "[ \"\$('$PXOS' run '$T/fib.pxi')\" = 6765 ]"
check inspect bash -c "'$PXOS' inspect '$T/fib.pxi' | grep -q 'kind:     bytecode'"
"$PXOS" disasm "$T/fib.pxi" >"$T/fib.dis.pxasm" && "$PXOS" asm "$T/fib.dis.pxasm" -o "$T/fib2.pxi"
check disasm-roundtrip bash -c "diff <('$PXOS' disasm '$T/fib.pxi' | tail -n +2) <('$PXOS' disasm '$T/fib2.pxi' | tail -n +2)"
check trace-on-stderr bash -c "[ \"\$('$PXOS' run --trace '$SRC/examples/add.pxasm' 2>/dev/null)\" = 50 ] && '$PXOS' run --trace '$SRC/examples/add.pxasm' 2>&1 >/dev/null | grep -q 'ADD'"
check stats bash -c "'$PXOS' run --stats '$SRC/examples/add.pxasm' 2>&1 >/dev/null | grep -q 'stats: 5 instructions'"

# pack / unpack any bytes, byte-identical
head -c 100000 /dev/urandom >"$T/blob"
check pack "$PXOS" pack "$T/blob" -o "$T/blob.pxi"
check unpack "$PXOS" unpack "$T/blob.pxi" -o "$T/blob.out"
check pack-identical cmp -s "$T/blob" "$T/blob.out"
check inspect-raw bash -c "'$PXOS' inspect '$T/blob.pxi' | grep -q 'kind:     raw'"

# the seed's legacy PixelFS format
python3 - "$T/legacy.pxi" <<'PY'
import hashlib, struct, sys, math
data = b"legacy seed payload"
w = h = math.ceil(math.sqrt(math.ceil(len(data) / 3)))
hdr = struct.pack("<IIQII", 0x50584653, 1, len(data), w, h) + hashlib.sha256(data).digest()
hdr += b"\0" * (128 - len(hdr))
open(sys.argv[1], "wb").write(hdr + data + b"\0" * (w * h * 3 - len(data)))
PY
check legacy-unpack "$PXOS" unpack "$T/legacy.pxi" -o "$T/legacy.out"
check legacy-bytes bash -c "[ \"\$(cat '$T/legacy.out')\" = 'legacy seed payload' ]"
check legacy-inspect bash -c "'$PXOS' inspect '$T/legacy.pxi' | grep -q PixelFS"

# bad inputs: one line, non-zero, no output file
: >"$T/empty.pxi"
expect_fail empty "empty.pxi: empty file" "$PXOS" run "$T/empty.pxi"
head -c 60 "$T/fib.pxi" >"$T/trunc.pxi"
expect_fail truncated "trunc.pxi" "$PXOS" run "$T/trunc.pxi"
printf 'not an image at all' >"$T/magic.pxi"
expect_fail wrong-magic "bad magic" "$PXOS" inspect "$T/magic.pxi"
cp "$T/blob.pxi" "$T/corrupt.pxi"; printf '\x00\x00\x00\x00' | dd of="$T/corrupt.pxi" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_fail corrupt "corrupt.pxi" "$PXOS" unpack "$T/corrupt.pxi" -o "$T/never"
check no-half-file bash -c "[ ! -e '$T/never' ] && ! ls '$T' | grep -q '\.tmp\.'"
expect_fail raw-not-code "read as raw seed bytecode" "$PXOS" run "$T/blob.pxi"
expect_fail raw-not-code-refused "holds a raw payload, not bytecode" "$PXOS" run --no-raw "$T/blob.pxi"
expect_fail missing "cannot open" "$PXOS" run "$T/nope.pxi"
head -c 4096 /dev/urandom >"$T/garbage.pxasm"
"$PXOS" asm "$T/garbage.pxasm" -o "$T/garbage.pxi" 2>"$T/err"; rc=$?
check garbage-asm-fails bash -c "[ $rc -ne 0 ] && [ ! -e '$T/garbage.pxi' ] && grep -q 'garbage.pxasm:1:' '$T/err'"
printf 'PUSH 1\nFOO\nJMP x\n' >"$T/bad.pxasm"
"$PXOS" asm "$T/bad.pxasm" -o "$T/bad.pxi" 2>"$T/err"; rc=$?
check asm-errors-all bash -c "[ $rc -eq 5 ] && [ ! -e '$T/bad.pxi' ] && grep -q 'bad.pxasm:2:1: error: unknown mnemonic' '$T/err' && grep -q \"bad.pxasm:3:5: error: undefined label 'x'\" '$T/err'"
cp "$T/fib.pxi" "$T/keep.pxi"; "$PXOS" asm "$T/bad.pxasm" -o "$T/keep.pxi" 2>/dev/null
check failed-asm-keeps-old cmp -s "$T/fib.pxi" "$T/keep.pxi"
expect_fail bad-cap "unknown capability" "$PXOS" run --grant root "$SRC/examples/add.pxasm"

# docs/isa.md is generated from opcodes.def
check isa-doc-in-sync diff <("$PXOS" isa --markdown) "$SRC/docs/isa.md"

echo "cli_toolchain: $pass passed, $fail failed"
[ $fail -eq 0 ]
