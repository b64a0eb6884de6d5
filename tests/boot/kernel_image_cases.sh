#!/usr/bin/env bash
# kernel_image_cases.sh CASE: the kernel as a god pixel (issue 13.5). `pxos god bootstrap` packs
# build/kernel/pxos-kernel.elf into a self-bootstrapping image; `pxos boot --kernel IMAGE.png`
# checks it and boots it. Cases: good (boots to the self-tests, the temp ELF is gone after),
# tampered_pixels, tampered_hash, bytecode (a program's image), key (a key image), plain_png
# (a .pxi), bad_elf (bootstrap refuses a non-multiboot ELF), disk_full (the temp write fails).
set -u
CASE=$1
PXOS=${PXOS:?PXOS must point at the pxos binary}
ELF=${PXOS_BUILD_DIR:?}/kernel/pxos-kernel.elf
SRC=${PXOS_SOURCE_DIR:?}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export TMPDIR=$OUT/tmp PXOS_STORE=$OUT/store
mkdir -p "$TMPDIR"
fails=0
fail() { echo "FAIL [$CASE]: $*"; fails=$((fails + 1)); }
# refused STATUS TEXT ARGS...: `pxos boot` exits STATUS with one line containing TEXT, QEMU never started
refused() {
  local want=$1 text=$2; shift 2
  timeout -s KILL 120 "$PXOS" boot --timeout 60 "$@" >"$OUT/log" 2>"$OUT/err"; local rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc, want $want: $(cat "$OUT/err")"
  grep -qF -- "$text" "$OUT/err" || fail "message lacks '$text': $(cat "$OUT/err")"
  [ "$(wc -l <"$OUT/err")" = 1 ] || fail "more than one line: $(cat "$OUT/err")"
  ! grep -q "pxos: PASS\|SeaBIOS" "$OUT/log" || fail "it booted"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "temp files left: $(ls "$TMPDIR")"
}
# png_edit IN OUT MODE: rewrite a PNG (CRCs recomputed): "pixel" flips a byte of row 1 of the
# image data (inside the zstd frame), "hash" flips a byte of the pxGp chunk's SHA-256.
png_edit() {
  python3 - "$@" <<'PY'
import struct, sys, zlib
src, dst, mode = sys.argv[1:4]
b = open(src, "rb").read()
sig, pos, chunks = b[:8], 8, []
while pos < len(b):
    n, = struct.unpack(">I", b[pos:pos + 4]); t = b[pos + 4:pos + 8]; chunks.append([t, bytearray(b[pos + 8:pos + 8 + n])]); pos += 12 + n
w, = struct.unpack(">I", bytes(chunks[0][1][0:4]))
if mode == "hash":
    for c in chunks:
        if c[0] == b"pxGp": c[1][24] ^= 0x55
else:
    idat = bytearray(zlib.decompress(b"".join(bytes(c[1]) for c in chunks if c[0] == b"IDAT")))
    idat[(1 + 4 * w) + 1 + 4 * (w // 2)] ^= 0x5A  # row 1, a middle pixel's first byte (not a filter byte)
    chunks = [c for c in chunks if c[0] != b"IDAT" or c is None]
    iend = chunks.pop()
    chunks += [[b"IDAT", bytearray(zlib.compress(bytes(idat)))], iend]
out = bytearray(sig)
for t, d in chunks:
    out += struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
open(dst, "wb").write(out)
PY
}

[ -r "$ELF" ] || { echo "FAIL: $ELF not built"; exit 1; }
"$PXOS" god bootstrap "$ELF" -o "$OUT/kernel.png" >"$OUT/bs" 2>&1 || fail "god bootstrap: $(cat "$OUT/bs")"
grep -q "program [0-9]* B kernel, sha256" "$OUT/bs" || fail "bootstrap output: $(cat "$OUT/bs")"

case "$CASE" in
  good)
    sha=$(sha256sum <"$ELF" | cut -d' ' -f1)
    timeout -s KILL 120 "$PXOS" boot --timeout 60 --kernel "$OUT/kernel.png" >"$OUT/log" 2>"$OUT/err"; rc=$?
    [ "$rc" = 0 ] || fail "pxos boot --kernel kernel.png exited $rc: $(tail -5 "$OUT/log") $(cat "$OUT/err")"
    grep -q "^kernel: $OUT/kernel.png: key 0x[0-9a-f]*, [0-9]* B ELF, sha256 $sha verified" "$OUT/err" ||
      fail "no verified line with the ELF's own SHA-256: $(cat "$OUT/err")"
    for t in "ring3: ring-3 test passed" "mailbox: mailboxd ready" "pxos: PASS" "boot: kernel exit 0x10"; do
      grep -qF -- "$t" "$OUT/log" || fail "transcript lacks: $t"
    done
    [ -z "$(ls -A "$TMPDIR")" ] || fail "temp files left: $(ls "$TMPDIR")"
    # the same image resurrects to the exact ELF
    "$PXOS" god resurrect "$OUT/kernel.png" -o "$OUT/back.pxi" >/dev/null || fail "resurrect"
    ;;
  tampered_pixels)
    png_edit "$OUT/kernel.png" "$OUT/bad.png" pixel
    refused 24 "bad.png" --kernel "$OUT/bad.png"
    ;;
  tampered_hash)
    png_edit "$OUT/kernel.png" "$OUT/bad.png" hash
    refused 24 "tampered: $OUT/bad.png: key pixel" --kernel "$OUT/bad.png"
    ;;
  bytecode)
    "$PXOS" god bootstrap "$SRC/examples/fib.pxasm" -o "$OUT/fib.png" >/dev/null || fail "bootstrap fib"
    refused 24 "its payload is bytecode, not a kernel" --kernel "$OUT/fib.png"
    ;;
  key)
    "$PXOS" god create "$SRC/examples/fib.pxasm" -o "$OUT/fib.key.png" >/dev/null || fail "god create"
    refused 24 "a god-pixel key image" --kernel "$OUT/fib.key.png"
    ;;
  plain_png)
    "$PXOS" pack "$ELF" -o "$OUT/elf.pxi" >/dev/null || fail "pack"
    refused 24 "not a self-bootstrapping god-pixel image" --kernel "$OUT/elf.pxi"
    ;;
  bad_elf)
    head -c 4096 /bin/true >"$OUT/not-multiboot.elf"
    "$PXOS" god bootstrap "$OUT/not-multiboot.elf" -o "$OUT/x.png" >"$OUT/log" 2>"$OUT/err"; rc=$?
    [ "$rc" = 24 ] || fail "bootstrap of a non-multiboot ELF: exit $rc: $(cat "$OUT/err")"
    grep -qF "no multiboot 1 header" "$OUT/err" || fail "message: $(cat "$OUT/err")"
    [ ! -e "$OUT/x.png" ] || fail "an image was written"
    ;;
  disk_full)
    PXOS_FAULT=write:1 refused 3 "cannot write the kernel extracted from $OUT/kernel.png" --kernel "$OUT/kernel.png"
    ;;
  *) echo "unknown case $CASE"; exit 2 ;;
esac
[ "$fails" = 0 ] && echo "PASS [$CASE]"
exit $((fails > 0))
