#!/usr/bin/env bash
# god_faults.sh: SQLite-style fault injection. For create (new object, seed key, an existing object
# re-stamped with one more key), forget, gc and rebuild-index, make write, fsync, rename, link or
# the index commit number N fail (PXOS_FAULT=op:N) for N = 1, 2, ... until the command succeeds.
# After every failure: verify is clean and every earlier program still reads back byte for byte.
source "$(dirname "$0")/lib.sh"
OPS="write fsync rename link commit"

# Programs stored before any fault: their key images must keep resurrecting identically.
for i in 1 2 3; do prog "$i" >/dev/null; "$PXOS" god create "$T/p$i.pxi" -o "$T/k$i.png" >/dev/null; done
"$PXOS" god create countdown:4 --method seed -o "$T/kseed.png" >/dev/null
check_store() {  # check_store WHAT: the store is consistent and lost nothing
  "$PXOS" god verify >"$T/verify.txt" 2>&1 || fail "$1: verify not clean: $(cat "$T/verify.txt")"
  for i in 1 2 3; do
    "$PXOS" god resurrect "$T/k$i.png" -o "$T/back.pxi" >/dev/null 2>&1 || fail "$1: program $i lost"
    cmp -s "$T/p$i.pxi" "$T/back.pxi" || fail "$1: program $i differs"
  done
  [ "$("$PXOS" run "$T/kseed.png" | tr '\n' ' ')" = "4 3 2 1 liftoff " ] || fail "$1: seed key lost"
}
# A failed command leaves no key image, or one whose key resurrects completely (never half).
no_half_key() {
  if [ -e "$T/new.png" ]; then "$PXOS" god resurrect "$T/new.png" -o "$T/nb.pxi" >/dev/null || fail "$1: half-visible key"; fi
}
# attempt WHAT: for each op, `setup OP`, then `cmd OP` under PXOS_FAULT=op:N for N = 1, 2, ...
# until it succeeds; `after_fail WHAT` checks the store after each failure. 64 is a hang guard.
after_fail() { check_store "$1"; no_half_key "$1"; }
MUST_FIRE=""
attempt() {
  local what=$1 op n
  for op in $OPS; do
    setup "$op"
    for n in $(seq 1 64); do
      if PXOS_FAULT=$op:$n cmd "$op" >"$T/out.txt" 2>"$T/err.txt"; then break; fi
      [ "$n" = 64 ] && fail "$what: $op:$n still failing"
      grep -q '^pxos: ' "$T/err.txt" || fail "$what $op:$n: no error line: $(cat "$T/err.txt")"
      after_fail "$what $op:$n"
    done
    check_store "$what $op: after success at N=$n"
    # The hooks must really fire where this scenario writes (an op that never fails tests nothing).
    if [ "$n" = 1 ] && [[ " $MUST_FIRE " == *" $op "* ]]; then fail "$what: $op never failed: the hook is not wired"; fi
    echo "ok: $what: $op failed at N = 1..$((n - 1)), then succeeded"
  done
}

opidx() { echo "$OPS" | tr ' ' '\n' | grep -n "^$1$" | cut -d: -f1; }

# A new program (a fresh one per op, so each op meets an object that is not there yet).
setup() { rm -f "$T/new.png"; prog "1$(opidx "$1")" >/dev/null; }
cmd() { "$PXOS" god create "$T/p1$(opidx "$1").pxi" -o "$T/new.png"; }
MUST_FIRE="write fsync link commit" attempt "create (new object)"
"$PXOS" god resurrect "$T/new.png" -o "$T/nb.pxi" >/dev/null && cmp "$T/p15.pxi" "$T/nb.pxi" || fail "created program"

# A seed key (its record file in seeds/).
seeds=(x countdown:7 squares:3 fib:5 sieve:20 countdown:9)
setup() { rm -f "$T/new.png"; }
cmd() { "$PXOS" god create "${seeds[$(opidx "$1")]}" --method seed -o "$T/new.png"; }
MUST_FIRE="write fsync link commit" attempt "create (seed key)"
[ "$("$PXOS" run "$T/new.png" | tr '\n' ' ')" = "9 8 7 6 5 4 3 2 1 liftoff " ] || fail "seed key after faults"

# The same bytes as a raw .pxi get a second key; the host program's object is re-stamped in place
# (temp + rename) to claim it, and must stay readable through every failure.
setup() {
  rm -f "$T/new.png"
  prog "2$(opidx "$1")" >/dev/null
  "$PXOS" god create "$T/p2$(opidx "$1").pxi" -o "$T/host.png" | sed -n 's/.*sha256 \([0-9a-f]*\)$/\1/p' >"$T/sha"
  cp "$T/p2$(opidx "$1").pxi" "$T/host.pxi"
  sha=$(cat "$T/sha")
  zstd -q -d -c "$PXOS_STORE/objects/${sha:0:2}/$sha" >"$T/module.bin"
  "$PXOS" pack "$T/module.bin" -o "$T/raw.pxi" >/dev/null
}
cmd() { "$PXOS" god create "$T/raw.pxi" -o "$T/new.png"; }
after_fail() {
  check_store "$1"; no_half_key "$1"
  "$PXOS" god resurrect "$T/host.png" -o "$T/hb.pxi" >/dev/null && cmp -s "$T/host.pxi" "$T/hb.pxi" ||
    fail "$1: the re-stamped object's program was lost"
}
MUST_FIRE="write fsync rename commit" attempt "create (second key for an object)"
"$PXOS" god resurrect "$T/new.png" -o "$T/rb.pxi" >/dev/null && cmp "$T/raw.pxi" "$T/rb.pxi" || fail "second key"
grep -q "sha256 $(cat "$T/sha")" <("$PXOS" god resurrect "$T/new.png" -o "$T/rb.pxi") || fail "not the same object"

# forget is one transaction: after a failure the key still resolves completely.
after_fail() { check_store "$1"; no_half_key "$1"; }
setup() { prog "3$(opidx "$1")" >/dev/null; "$PXOS" god create "$T/p3$(opidx "$1").pxi" -o "$T/new.png" >/dev/null; }
cmd() { "$PXOS" god forget "$T/new.png"; }
MUST_FIRE="commit" attempt "forget"

# gc after a forget: the forgotten object goes, nothing else does.
setup() { prog "4$(opidx "$1")" >/dev/null; "$PXOS" god create "$T/p4$(opidx "$1").pxi" -o "$T/gone.png" >/dev/null
  "$PXOS" god forget "$T/gone.png" >/dev/null; }
cmd() { "$PXOS" god gc; }
after_fail() {
  check_store "$1"
  "$PXOS" god resurrect "$T/new.png" -o "$T/nb.pxi" >/dev/null 2>&1 && fail "$1: a forgotten key resolves"
  true
}
MUST_FIRE="commit" attempt "gc"

# rebuild-index over an emptied index: a failure leaves the old index (still empty, so the store
# stays refused) or, when only the directory fsync after the rename failed, the complete new one;
# never a half-written one. The success restores every key.
setup() { : >"$PXOS_STORE/index.sqlite"; }
cmd() { "$PXOS" god rebuild-index --force; }
after_fail() {
  if [ -s "$PXOS_STORE/index.sqlite" ]; then check_store "$1"; return; fi
  if "$PXOS" god verify >/dev/null 2>&1; then fail "$1: an empty index was accepted"; fi
}
MUST_FIRE="write fsync rename commit" attempt "rebuild-index"
"$PXOS" god resurrect "$T/new.png" -o "$T/nb.pxi" >/dev/null 2>&1 && fail "a forgotten key came back"
echo "god_faults: all passed"
