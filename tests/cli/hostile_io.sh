#!/usr/bin/env bash
# hostile_io.sh: files of the wrong kind where pxos reads and writes (issue 19.4): FIFOs, directories
# and devices as inputs never block or crash; -o never replaces a non-regular file, streams into
# FIFOs and character devices, takes "-"; a full device and a closed pipe are reported correctly.
set -uo pipefail
PXOS=${PXOS:?}; SRC=${PXOS_SOURCE_DIR:?}
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export PXOS_STORE="$T/store"
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
# Every command runs under a hang guard: 124 from timeout means pxos blocked (the bug class here).
px() { timeout 20 "$PXOS" "$@"; }

# refused NAME NEEDLE CMD...: non-zero exit (not the hang guard, not a signal), one stderr line with NEEDLE
refused() {
  local name=$1 needle=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if [ $rc -eq 124 ]; then bad "$name: hung (killed by the guard)"; return; fi
  if [ $rc -gt 128 ]; then bad "$name: died of signal $((rc-128))"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then bad "$name: stderr not one line: $(head -c 300 "$T/err")"; return; fi
  if ! grep -qF -- "$needle" "$T/err"; then bad "$name: stderr lacks '$needle': $(cat "$T/err")"; return; fi
  ok
}

px asm "$SRC/examples/fib.pxasm" -o "$T/fib.pxi" >/dev/null || bad "setup: asm"
px god create "$T/fib.pxi" -o "$T/key.png" >/dev/null || bad "setup: god create"
px archive create "$T/demo.pxa" "$SRC/examples/demo-archive" >/dev/null || bad "setup: archive create"
head -c 5000 /dev/urandom >"$T/blob"

# ---- inputs of the wrong kind: FIFO (no writer: a blocking open would hang), directory,
#      character device (endless), and a symlink to a FIFO ------------------------------------------
mkfifo "$T/fifo"; mkdir "$T/dir"; ln -s "$T/fifo" "$T/link"
for input in "$T/fifo" "$T/dir" /dev/zero "$T/link"; do
  refused "asm $input" "not a regular file" px asm "$input" -o "$T/o.pxi"
  refused "run $input" "not a regular file" px run "$input"
  refused "disasm $input" "not a regular file" px disasm "$input"
  refused "inspect $input" "not a regular file" px inspect "$input"
  refused "view $input" "not a regular file" px view "$input"
  refused "cart make $input" "not a regular file" px cart make "$input" -o "$T/o.png"
  refused "cart make --label $input" "not a regular file" px cart make "$T/fib.pxi" --label "$input" -o "$T/o.png"
  refused "pack $input" "not a regular file" px pack "$input" -o "$T/o.pxi"
  refused "unpack $input" "not a regular file" px unpack "$input" -o "$T/o.bin"
  refused "god create $input" "not a regular file" px god create "$input" -o "$T/o.png"
  refused "god resurrect $input" "not a regular file" px god resurrect "$input" -o "$T/o.pxi"
  refused "archive list $input" "not a regular file" px archive list "$input"
  refused "hv validate $input" "not a regular file" px hv validate "$input"
  refused "hv run $input" "not a regular file" px hv run "$input"
done
[ -p "$T/fifo" ] || bad "the input FIFO was replaced"
[ -e "$T/o.pxi" ] && bad "a refused input still wrote an output"
[ -e "$T/o.png" ] && bad "a refused cart input still wrote an output"

# An archive directory whose manifest or a data file is a FIFO.
cp -r "$SRC/examples/demo-archive" "$T/adir"; mv "$T/adir/manifest.json" "$T/manifest.saved"; mkfifo "$T/adir/manifest.json"
refused "archive create with a FIFO manifest" "not a regular file" px archive create "$T/a.pxa" "$T/adir"
rm "$T/adir/manifest.json"; mv "$T/manifest.saved" "$T/adir/manifest.json"
mkdir -p "$T/adir/data"; mkfifo "$T/adir/data/input.txt"
refused "archive create with a FIFO data file" "not a regular file" px archive create "$T/a.pxa" "$T/adir"
[ -e "$T/a.pxa" ] && bad "archive create wrote an archive from a FIFO"

# A store object replaced by a FIFO: `run key.png` and `god verify` used to hang forever.
obj=$(find "$T/store/objects" -type f | head -1)
cp "$obj" "$T/obj.saved"; rm "$obj"; mkfifo "$obj"
refused "run key with a FIFO object" "not a regular file" px run "$T/key.png"
px god verify >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -gt 128 ]; then bad "god verify with a FIFO object: rc $rc"; else ok; fi
grep -q "not a regular file" "$T/out" "$T/err" || bad "god verify does not name the FIFO object: $(cat "$T/out" "$T/err")"
rm "$obj"; cp "$T/obj.saved" "$obj"
px run "$T/key.png" >/dev/null || bad "run key after restoring the object"

# ---- outputs: each -o command against a FIFO, a character device, "-", a directory, /dev/full --------
# Each entry: a name and the command with @OUT@ where the output path goes.
outputs=(
  "asm|asm $SRC/examples/fib.pxasm -o @OUT@"
  "pack|pack $T/blob -o @OUT@"
  "unpack|unpack $T/fib.pxi -o @OUT@"
  "view|view $T/fib.pxi --scale 2 -o @OUT@"
  "cart-make|cart make $T/fib.pxi -o @OUT@"
  "god-create|god create $T/fib.pxi -o @OUT@"
  "god-resurrect|god resurrect $T/key.png -o @OUT@"
  "god-bootstrap|god bootstrap $T/fib.pxi -o @OUT@"
  "archive-create|archive create @OUT@ $SRC/examples/demo-archive"
)
run_out() {  # run_out SPEC OUT [stdout-file]: runs the spec's command with OUT substituted
  local cmd=${1#*|}; cmd=${cmd//@OUT@/$2}
  # shellcheck disable=SC2086
  timeout 20 "$PXOS" $cmd >"${3:-/dev/null}" 2>"$T/err"
}
have_mknod=0; mknod "$T/null" c 1 3 2>/dev/null && have_mknod=1
for spec in "${outputs[@]}"; do
  name=${spec%%|*}
  run_out "$spec" "$T/ref.$name" || bad "$name: regular output failed: $(cat "$T/err")"
  # a FIFO with a reader: the bytes arrive through it and it stays a FIFO
  rm -f "$T/ofifo"; mkfifo "$T/ofifo"
  cat "$T/ofifo" >"$T/got.$name" & reader=$!
  run_out "$spec" "$T/ofifo"; rc=$?; wait $reader
  [ $rc -eq 0 ] || bad "$name -o FIFO: rc $rc: $(cat "$T/err")"
  [ -p "$T/ofifo" ] || bad "$name -o FIFO replaced the FIFO"
  # Archives and key images embed nothing time-dependent: the same bytes either way.
  cmp -s "$T/ref.$name" "$T/got.$name" || bad "$name -o FIFO: different bytes than a regular file"
  # a character device: written into, never replaced (a private /dev/null node when we may mknod)
  dev=/dev/null; [ $have_mknod = 1 ] && dev=$T/null
  run_out "$spec" "$dev" || bad "$name -o $dev: $(cat "$T/err")"
  [ -c "$dev" ] || bad "$name -o $dev replaced the device"
  [ -c /dev/null ] || bad "$name: /dev/null is no longer a device"
  # "-" is stdout
  run_out "$spec" - "$T/stdout.$name" || bad "$name -o -: $(cat "$T/err")"
  # exactly the output's bytes: the command's own report goes to stderr then
  cmp -s "$T/stdout.$name" "$T/ref.$name" || bad "$name -o -: stdout is not exactly the output bytes"
  # a directory is refused and left as it was
  mkdir -p "$T/odir/sub"
  run_out "$spec" "$T/odir"; rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || bad "$name -o DIR: rc $rc"
  grep -q "not a regular file" "$T/err" || bad "$name -o DIR: message: $(cat "$T/err")"
  [ -d "$T/odir/sub" ] || bad "$name -o DIR touched the directory"
  # a full device: a clear error naming it, never exit 0
  run_out "$spec" /dev/full; rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] || bad "$name -o /dev/full: rc $rc"
  grep -q "/dev/full.*No space left" "$T/err" || bad "$name -o /dev/full: message: $(cat "$T/err")"
  ok
done

# ---- stdout: full device and closed pipe ----------------------------------------------------------
timeout 20 "$PXOS" disasm "$T/fib.pxi" >/dev/full 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && [ $rc -lt 124 ] || bad "disasm >/dev/full: rc $rc"
grep -q "stdout: write failed: No space left on device" "$T/err" || bad "disasm >/dev/full: message: $(cat "$T/err")"
timeout 20 "$PXOS" run "$SRC/examples/hello.pxasm" >/dev/full 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && [ $rc -lt 124 ] || bad "run >/dev/full: rc $rc"
grep -q "No space left on device" "$T/err" || bad "run >/dev/full: message: $(cat "$T/err")"

# A listing far larger than any pipe buffer, read one line: pxos must end quietly, not by SIGPIPE.
python3 - "$T/big.pxasm" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(60000): f.write(f"l{i}: PUSH {i}\nPOP\n")
    f.write("HALT\n")
PY
px asm "$T/big.pxasm" -o "$T/big.pxi" >/dev/null || bad "asm big"
timeout 20 "$PXOS" disasm "$T/big.pxi" 2>"$T/err" | head -1 >/dev/null; rc=${PIPESTATUS[0]}
[ $rc -eq 3 ] || bad "disasm | head -1: rc $rc (141 = SIGPIPE death, 124 = hang)"
[ -s "$T/err" ] && bad "disasm | head -1: not quiet: $(cat "$T/err")"
printf 'loop: PRINT_STR "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"\nJMP loop\n' >"$T/yes.pxasm"
timeout 20 "$PXOS" run "$T/yes.pxasm" 2>"$T/err" | head -c 100 >/dev/null; rc=${PIPESTATUS[0]}
[ $rc -eq 3 ] || bad "run endless | head: rc $rc"
[ -s "$T/err" ] && bad "run endless | head: not quiet: $(cat "$T/err")"

# ---- view -o of a large image: a clear limit error before allocating, never bad_alloc --------------
python3 - "$T/wide.png" <<'PY'
import struct, sys, zlib
w = h = 8192  # exactly the 64 Mpixel input limit
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
z = zlib.compressobj(1); row = b"\0" * (1 + 3 * w); idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
PY
refused "view -o 8192x8192" "over the limit" px view "$T/wide.png" -o "$T/wide.big.png"
refused "view -o 8192x8192 --scale 2" "would be 16384x16384" px view "$T/wide.png" --scale 2 -o "$T/wide.big.png"
[ -e "$T/wide.big.png" ] && bad "view -o wrote an output over the limit"

# ---- the assembler's name limit (the image used to be written and then refused by every reader) -----
python3 -c "import sys; open(sys.argv[1],'w').write('x'*100000 + ': HALT\n')" "$T/longlabel.pxasm"
refused "asm 100000-char label" "longlabel.pxasm:1:1: error: label of 100000 characters is over the limit of 1024" \
  px asm "$T/longlabel.pxasm" -o "$T/long.pxi"
[ -e "$T/long.pxi" ] && bad "asm wrote an image with an over-long label"

echo "hostile_io: $pass passed, $fail failed"
[ $fail -eq 0 ]
