#!/usr/bin/env bash
# god_bad_input.sh: every bad input named by the issue gives one clear line and a non-zero exit,
# and nothing is lost or half-written: non-1x1 images, PNGs without a key, a truncated
# self-bootstrapping image, a read-only store, a missing index, unknown key, missing object,
# corrupted object, a key from another store, a bad key-width setting.
source "$(dirname "$0")/lib.sh"

"$PXOS" asm examples/fib.pxasm -o "$T/fib.pxi"
"$PXOS" god create "$T/fib.pxi" -o "$T/key.png" >/dev/null
obj=$(find "$PXOS_STORE/objects" -type f)

# Not keys: a multi-pixel .pxi, a 1x1 PNG without a key, a non-PNG, a missing file.
expect_fail "non-1x1 image as a key" "$PXOS" god resurrect "$T/fib.pxi" -o "$T/o.pxi"
grep -q "without a god-pixel key" "$T/err.txt" || fail "message"
printf 'abc' >"$T/three"
"$PXOS" pack "$T/three" -o "$T/one.png"
[ "$(od -An -tx1 -j16 -N8 "$T/one.png" | tr -d ' \n')" = 0000000100000001 ] || fail "one.png is not 1x1"
expect_fail "1x1 PNG without a key" "$PXOS" god resurrect "$T/one.png" -o "$T/o.pxi"
grep -q "carries no god-pixel key" "$T/err.txt" || fail "message"
printf 'hello' >"$T/text.png"
expect_fail "not a PNG" "$PXOS" god resurrect "$T/text.png" -o "$T/o.pxi"
expect_fail "missing file" "$PXOS" god resurrect "$T/nope.png" -o "$T/o.pxi"
# A key chunk on a 2x1 image (the key image's own chunks, IHDR rewritten with a fresh CRC).
python3 - "$T/key.png" "$T/wide.png" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
out, off = d[:8], 8
while off < len(d):
    n = struct.unpack('>I', d[off:off+4])[0]; t = d[off+4:off+8]; body = d[off+8:off+8+n]
    if t == b'IHDR': body = struct.pack('>II', 2, 1) + body[8:]
    if t == b'IDAT': body = zlib.compress(b'\x00' + b'\x01\x02\x03\x04' * 2)
    out += struct.pack('>I', len(body)) + t + body + struct.pack('>I', zlib.crc32(t + body))
    off += 12 + n
open(sys.argv[2], 'wb').write(out)
PY
expect_fail "key chunk on a 2x1 image" "$PXOS" god resurrect "$T/wide.png" -o "$T/o.pxi"
grep -q "a key image is 1x1, this one is 2x1" "$T/err.txt" || fail "message"
expect_fail "run a 2x1 key" "$PXOS" run "$T/wide.png"

# Truncated self-bootstrapping image: refused by resurrect and by run, at several cut points.
"$PXOS" god bootstrap "$T/fib.pxi" -o "$T/self.png" >/dev/null
size=$(stat -c %s "$T/self.png")
for cut in 40 $((size / 2)) $((size - 12)) $((size - 1)); do
  head -c "$cut" "$T/self.png" >"$T/cut.png"
  expect_fail "bootstrap image cut at $cut of $size" "$PXOS" god resurrect "$T/cut.png" -o "$T/o.pxi"
  expect_fail "run bootstrap image cut at $cut" "$PXOS" run "$T/cut.png"
done
[ ! -e "$T/o.pxi" ] || fail "an output was written by a failed resurrect"

# Unknown key: a key image made in one store, resurrected against another.
mkdir -p "$T/b"
"$PXOS" asm examples/countdown.pxasm -o "$T/cd.pxi"
"$PXOS" god create "$T/cd.pxi" -o "$T/b/cd.png" --store "$T/b/store" >/dev/null
expect_fail "unknown key" "$PXOS" god resurrect "$T/b/cd.png" -o "$T/o.pxi"
grep -q "unknown key 0x" "$T/err.txt" || fail "message"
expect_fail "unknown key, empty store" "$PXOS" god resurrect "$T/key.png" -o "$T/o.pxi" --store "$T/none"
expect_fail "unknown key hex to forget" "$PXOS" god forget 0x12345678
expect_fail "bad key width setting" env PXOS_GOD_KEY_BITS=99 "$PXOS" god create "$T/fib.pxi" -o "$T/o.png"
expect_fail "key width differs from the store's" env PXOS_GOD_KEY_BITS=8 "$PXOS" god create "$T/cd.pxi" -o "$T/o.png"
[ ! -e "$T/o.png" ] || fail "key image written on failure"

# Corrupted object: refused by resurrect, run and verify; create repairs it.
cp "$obj" "$T/obj.good"
chmod u+w "$obj"
printf '\x55' | dd of="$obj" bs=1 seek=20 conv=notrunc status=none
expect_fail "corrupted object" "$PXOS" god resurrect "$T/key.png" -o "$T/o.pxi"
grep -q "corrupted object" "$T/err.txt" || fail "message"
expect_fail "run with a corrupted object" "$PXOS" run "$T/key.png"
expect_fail "verify sees the corruption" "$PXOS" god verify
"$PXOS" god create "$T/fib.pxi" -o "$T/key2.png" | grep -q '^repaired' || fail "create did not repair"
"$PXOS" god resurrect "$T/key.png" -o "$T/ok.pxi" >/dev/null && cmp "$T/fib.pxi" "$T/ok.pxi"

# Missing object.
rm -f "$obj"
expect_fail "missing object" "$PXOS" god resurrect "$T/key.png" -o "$T/o.pxi"
grep -q "is missing from store" "$T/err.txt" || fail "message"
expect_fail "verify sees the missing object" "$PXOS" god verify
cp "$T/obj.good" "$obj"
"$PXOS" god verify >/dev/null

# Read-only store directory: create refuses and writes nothing; reading still works.
snapshot() { (cd "$PXOS_STORE" && find . -printf '%p %s %m\n' | sort && sha256sum index.sqlite); }
snapshot >"$T/before.txt"
chmod -R a-w "$PXOS_STORE"
mkdir -m 1777 "$T/out"
as_user=()
if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
expect_fail "read-only store" "${as_user[@]}" env PXOS_STORE="$PXOS_STORE" "$PXOS" god create "$T/cd.pxi" -o "$T/out/ro.png"
grep -q "read-only" "$T/err.txt" || fail "message"
[ ! -e "$T/out/ro.png" ] || fail "key image written for a refused create"
"${as_user[@]}" env PXOS_STORE="$PXOS_STORE" "$PXOS" god resurrect "$T/key.png" -o "$T/out/ro.pxi" >/dev/null
cmp "$T/fib.pxi" "$T/out/ro.pxi" || fail "read from a read-only store"
chmod -R u+w "$PXOS_STORE"
snapshot >"$T/after.txt"
diff <(sed 's/ [0-7]*$//' "$T/before.txt") <(sed 's/ [0-7]*$//' "$T/after.txt") || fail "read-only store changed"

# Missing index: refused by every command; the objects are kept, no empty index is started.
nobj=$(find "$PXOS_STORE/objects" -type f | wc -l)
mv "$PXOS_STORE/index.sqlite" "$T/index.bak"
expect_fail "missing index: create" "$PXOS" god create "$T/cd.pxi" -o "$T/o.png"
grep -q "index.sqlite is missing" "$T/err.txt" || fail "message"
expect_fail "missing index: resurrect" "$PXOS" god resurrect "$T/key.png" -o "$T/o.pxi"
expect_fail "missing index: gc" "$PXOS" god gc
expect_fail "missing index: verify" "$PXOS" god verify
[ ! -e "$PXOS_STORE/index.sqlite" ] || fail "a new index was started"
[ "$(find "$PXOS_STORE/objects" -type f | wc -l)" = "$nobj" ] || fail "objects lost"
mv "$T/index.bak" "$PXOS_STORE/index.sqlite"
"$PXOS" god verify >/dev/null

# Index truncated to 0 bytes (issue 19.3): create and gc refuse, naming the file, and delete
# nothing; rebuild-index recovers every key (hash and seed) from the object headers.
"$PXOS" god create countdown:3 --method seed -o "$T/seed.png" >/dev/null
snap_objects() { (cd "$PXOS_STORE" && find objects $([ -d "$PXOS_STORE/seeds" ] && echo seeds) -type f -exec sha256sum {} + | sort); }
snap_objects >"$T/objs.txt"
: >"$PXOS_STORE/index.sqlite"
expect_fail "empty index: create" "$PXOS" god create "$T/cd.pxi" -o "$T/o.png"
grep -q "index.sqlite is empty" "$T/err.txt" && grep -q "rebuild-index" "$T/err.txt" || fail "message"
expect_fail "empty index: gc" "$PXOS" god gc
expect_fail "empty index: verify" "$PXOS" god verify
diff "$T/objs.txt" <(snap_objects) || fail "objects changed beside an empty index"
"$PXOS" god rebuild-index | tee "$T/rebuild.txt"
grep -q ": 2 keys from 1 objects and 1 seed records; 0 objects could not be attributed" "$T/rebuild.txt" || fail "rebuild report"
"$PXOS" god verify | grep -q '^2 keys, 2 verified' || fail "verify after rebuild"
"$PXOS" god resurrect "$T/key.png" -o "$T/rb.pxi" >/dev/null && cmp "$T/fib.pxi" "$T/rb.pxi" || fail "rebuilt key"
[ "$("$PXOS" run "$T/seed.png" | tr '\n' ' ')" = "3 2 1 liftoff " ] || fail "rebuilt seed key"
"$PXOS" god gc | grep -q '^removed 0 unreferenced' || fail "gc after rebuild removed something"
expect_fail "rebuild over a healthy index" "$PXOS" god rebuild-index
# A garbage index and an index missing rows: refused the same way.
head -c 4096 /dev/urandom >"$PXOS_STORE/index.sqlite"
expect_fail "garbage index: gc" "$PXOS" god gc
grep -q "index.sqlite" "$T/err.txt" || fail "message"
diff "$T/objs.txt" <(snap_objects) || fail "objects changed beside a garbage index"
"$PXOS" god rebuild-index >/dev/null
sqlite3 "$PXOS_STORE/index.sqlite" "DELETE FROM keys WHERE method = 0" 2>/dev/null ||
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM keys WHERE method = 0'); c.commit()" "$PXOS_STORE/index.sqlite"
expect_fail "index missing rows: gc" "$PXOS" god gc
grep -q "holds 1 key rows but recorded 2" "$T/err.txt" || fail "message"
expect_fail "index missing rows: create" "$PXOS" god create "$T/cd.pxi" -o "$T/o.png"
diff "$T/objs.txt" <(snap_objects) || fail "objects deleted by gc over an index missing rows"
"$PXOS" god rebuild-index >/dev/null
"$PXOS" god verify | grep -q '^2 keys, 2 verified' || fail "verify after the second rebuild"
echo "god_bad_input: all passed"
