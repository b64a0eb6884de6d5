#!/usr/bin/env bash
# god_collisions.sh: the PXOS_GOD_KEY_BITS=6 test hook shrinks keys to 64 values; 48 programs
# collide constantly, pxos says so, picks keys along the documented probe sequence, and every
# program still resurrects byte for byte (and the key image's pixel is the key it reported).
# (The unit test puts 256 programs into 8-bit keys through the library, without processes.)
source "$(dirname "$0")/lib.sh"
export PXOS_GOD_KEY_BITS=6
N=48
for i in $(seq 1 $N); do
  prog "$i"
  "$PXOS" god create "$T/p$i.pxi" -o "$T/k$i.png" >"$T/c$i.txt"
  sed -n 's/^key \(0x[0-9a-f]*\) .*/\1/p' "$T/c$i.txt" >"$T/key$i.txt"
done
# The pixel of each key image (first pixel of the first row: the same bytes whatever the filter).
python3 - "$T" "$N" <<'PY'
import sys, zlib
t, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    d = open(f"{t}/k{i}.png", "rb").read()
    j = d.index(b"IDAT")
    px = zlib.decompress(d[j + 4:j + 4 + int.from_bytes(d[j - 4:j], "big")])[1:5]
    want = open(f"{t}/key{i}.txt").read().strip()
    got = "0x%08x" % int.from_bytes(px, "big")
    if got != want: sys.exit(f"FAIL: program {i}: reported key {want}, pixel holds {got}")
PY
collided=$(grep -l '^collision' "$T"/c*.txt | wc -l)
echo "$collided of $N creates met at least one taken key"
[ "$collided" -ge 8 ] || fail "too few collisions for 6-bit keys"
grep -h '^collision' "$T"/c*.txt | head -3 || true  # (grep may die of SIGPIPE once head has its lines)
for i in $(seq 1 $N); do
  "$PXOS" god resurrect "$T/k$i.png" -o "$T/r$i.pxi" >/dev/null
  cmp "$T/p$i.pxi" "$T/r$i.pxi" || fail "program $i did not resurrect exactly"
done
[ "$("$PXOS" run "$T/k37.png" | sed -n 1p)" = 37 ] || fail "run under collisions"
[ "$("$PXOS" god ls | grep -c '^0x')" = $N ] || fail "ls count"
"$PXOS" god verify | tail -1
echo "god_collisions: all passed"
