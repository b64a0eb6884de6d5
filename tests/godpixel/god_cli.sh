#!/usr/bin/env bash
# god_cli.sh: create -> resurrect byte-identical -> run, bootstrap with an empty store, the seed
# method, ratios (checked against the object on disk), ls, verify, forget + gc, --store.
source "$(dirname "$0")/lib.sh"

"$PXOS" asm examples/fib.pxasm -o "$T/fib.pxi"
"$PXOS" god create "$T/fib.pxi" -o "$T/fib.key.png" >"$T/create.txt"
cat "$T/create.txt"
# The key image is a 1x1 PNG: IHDR width and height are bytes 16..23.
[ "$(od -An -tx1 -j16 -N8 "$T/fib.key.png" | tr -d ' \n')" = 0000000100000001 ] || fail "key image is not 1x1"
key=$(sed -n 's/^key \(0x[0-9a-f]*\) .*/\1/p' "$T/create.txt")
obj=$(find "$PXOS_STORE/objects" -type f)
[ "$(echo "$obj" | wc -l)" -eq 1 ] || fail "expected one object"
# The object is a plain zstd frame of the payload, named by the payload's SHA-256; the key is its prefix.
zstd -q -d -c "$obj" >"$T/payload.bin"
psize=$(stat -c %s "$T/payload.bin"); osize=$(stat -c %s "$obj")
[ "$(sha256sum <"$T/payload.bin" | cut -c1-64)" = "$(basename "$obj")" ] || fail "object name is not the payload hash"
[ "0x$(basename "$obj" | cut -c1-8)" = "$key" ] || fail "key $key is not the hash prefix"
grep -q "^key reference ratio .*($psize B payload : 4 B key;" "$T/create.txt" || fail "key ratio line"
grep -q "^stored ratio .*($psize B payload : $osize B zstd object on disk;" "$T/create.txt" || fail "stored ratio line"

"$PXOS" god resurrect "$T/fib.key.png" -o "$T/back.pxi" >"$T/res.txt"
cat "$T/res.txt"
cmp "$T/fib.pxi" "$T/back.pxi" || fail "resurrected image differs"
grep -q "^key reference ratio" "$T/res.txt" && grep -q "^stored ratio .*$osize B zstd object on disk" "$T/res.txt" ||
  fail "resurrect ratios"
[ "$("$PXOS" run "$T/fib.key.png")" = 6765 ] || fail "pxos run key.png"
# Creating the same program again reuses its key.
"$PXOS" god create "$T/fib.pxi" -o "$T/again.png" | grep -q "already stored" || fail "dedup"
cmp "$T/fib.key.png" "$T/again.png" || fail "same program, different key image"

# Self-bootstrapping image: resurrects and runs with an empty store, and creates no store.
"$PXOS" god bootstrap "$T/fib.pxi" -o "$T/self.png" | tee "$T/boot.txt"
grep -q "^stored ratio .*zstd in the image's pixels" "$T/boot.txt" || fail "bootstrap ratio"
PXOS_STORE=$T/empty "$PXOS" god resurrect "$T/self.png" -o "$T/self.pxi"
cmp "$T/fib.pxi" "$T/self.pxi" || fail "bootstrap resurrect differs"
[ "$(PXOS_STORE=$T/empty "$PXOS" run "$T/self.png")" = 6765 ] || fail "pxos run self.png"
[ ! -e "$T/empty" ] || fail "reading created a store"
[ "$(od -An -tx1 -j16 -N8 "$T/self.png" | tr -d ' \n')" != 0000000100000001 ] || fail "bootstrap image is 1x1"

# Seed method: the key is the seed (family << 24 | N), no object is stored, resurrect regenerates.
nobj=$(find "$PXOS_STORE/objects" -type f | wc -l)
"$PXOS" god create countdown:3 --method seed -o "$T/cd.png" | tee "$T/seed.txt"
grep -q '^key 0x01000003 ' "$T/seed.txt" || fail "seed key"
grep -q '^stored ratio  *n/a .*regenerated from countdown:3' "$T/seed.txt" || fail "seed ratio"
[ "$(find "$PXOS_STORE/objects" -type f | wc -l)" = "$nobj" ] || fail "seed method stored an object"
[ "$("$PXOS" run "$T/cd.png" | tr '\n' ' ')" = "3 2 1 liftoff " ] || fail "run countdown:3"
"$PXOS" god create sieve:30 --method seed -o "$T/sieve.png" >/dev/null
[ "$("$PXOS" run "$T/sieve.png" | tr '\n' ' ')" = "2 3 5 7 11 13 17 19 23 29 10 " ] || fail "run sieve:30"
"$PXOS" god create 'fib(8)' --method seed -o "$T/fibs.png" >/dev/null
[ "$("$PXOS" run "$T/fibs.png" | tr '\n' ' ')" = "0 1 1 2 3 5 8 13 " ] || fail "run fib:8"
"$PXOS" god create squares:4 --method seed -o "$T/sq.png" >/dev/null
[ "$("$PXOS" run "$T/sq.png" | tr '\n' ' ')" = "1 4 9 16 " ] || fail "run squares:4"
# A resurrected seed program is recognised as its generator's output.
"$PXOS" god resurrect "$T/cd.png" -o "$T/cd.pxi" >/dev/null
"$PXOS" god create "$T/cd.pxi" --method seed -o "$T/cd2.png" | grep -q '^key 0x01000003 ' || fail "seed from .pxi"
expect_fail "seed method on a hand-written program" "$PXOS" god create "$T/fib.pxi" --method seed -o "$T/x.png"
expect_fail "unknown family" "$PXOS" god create nosuch:3 --method seed -o "$T/x.png"
expect_fail "N out of range" "$PXOS" god create sieve:100000 --method seed -o "$T/x.png"
"$PXOS" god families | grep -q '^countdown' || fail "families"

"$PXOS" god ls | tee "$T/ls.txt"
grep -q "^$key  *hash  *bytecode  *$psize  *$osize " "$T/ls.txt" || fail "ls row"
grep -q '^0x01000003  *seed .*countdown:3' "$T/ls.txt" || fail "ls seed row"
"$PXOS" god verify | grep -q '^5 keys, 5 verified' || fail "verify"

# --store overrides PXOS_STORE.
"$PXOS" god create "$T/fib.pxi" -o "$T/other.png" --store "$T/other" >/dev/null
[ -f "$T/other/index.sqlite" ] || fail "--store ignored"
"$PXOS" god resurrect "$T/other.png" -o "$T/other.pxi" --store "$T/other" >/dev/null

# forget + gc: the object goes, the others stay and still verify.
"$PXOS" asm examples/sieve.pxasm -o "$T/sieve.pxi"
"$PXOS" god create "$T/sieve.pxi" -o "$T/sieve.key.png" >/dev/null
"$PXOS" god forget "$T/sieve.key.png"
"$PXOS" god gc | tee "$T/gc.txt"
grep -q '^removed 1 unreferenced objects' "$T/gc.txt" || fail "gc"
expect_fail "forgotten key" "$PXOS" god resurrect "$T/sieve.key.png" -o "$T/gone.pxi"
[ ! -e "$T/gone.pxi" ] || fail "output written on failure"
"$PXOS" god resurrect "$T/fib.key.png" -o "$T/back2.pxi" >/dev/null && cmp "$T/fib.pxi" "$T/back2.pxi"
"$PXOS" god verify >/dev/null
echo "god_cli: all passed"
