#!/usr/bin/env bash
# god_concurrency.sh: real concurrent processes writing one store: two at once into a fresh store,
# eight at once, the same program twice at once, and a tiny key space (forced collisions) at once.
# Every process must succeed and every key must resurrect its own program byte for byte.
source "$(dirname "$0")/lib.sh"

for i in $(seq 1 12); do prog "$i"; done

run_batch() {  # run_batch STORE I...: create each program in parallel, wait for each pid
  local store=$1; shift
  local pids=() i
  for i in "$@"; do
    PXOS_STORE=$store "$PXOS" god create "$T/p$i.pxi" -o "$T/k$i.png" >"$T/c$i.txt" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "concurrent create failed: $(cat "$T/c$(( $1 + i )).txt")"; done
}
check() {  # check STORE I...
  local store=$1; shift
  for i in "$@"; do
    PXOS_STORE=$store "$PXOS" god resurrect "$T/k$i.png" -o "$T/r$i.pxi" >/dev/null
    cmp "$T/p$i.pxi" "$T/r$i.pxi" || fail "program $i did not resurrect exactly"
  done
  PXOS_STORE=$store "$PXOS" god verify
}

for round in 1 2 3; do  # two processes creating the very first objects of a fresh store
  rm -rf "$T/s2"
  run_batch "$T/s2" 1 2
  check "$T/s2" 1 2
done
run_batch "$T/s8" 1 2 3 4 5 6 7 8
check "$T/s8" 1 2 3 4 5 6 7 8

# The same program from two processes at once: both succeed, one key, one object.
PXOS_STORE=$T/same "$PXOS" god create "$T/p9.pxi" -o "$T/a.png" >/dev/null &
a=$!
PXOS_STORE=$T/same "$PXOS" god create "$T/p9.pxi" -o "$T/b.png" >/dev/null &
b=$!
wait $a || fail "first of two identical creates failed"
wait $b || fail "second of two identical creates failed"
cmp "$T/a.png" "$T/b.png" || fail "identical programs got different keys"
[ "$(find "$T/same/objects" -type f | wc -l)" = 1 ] || fail "duplicate objects"

# 4-bit keys (16 of them) and 12 concurrent writers: collisions decided under the lock.
export PXOS_GOD_KEY_BITS=4
run_batch "$T/s4" 1 2 3 4 5 6 7 8 9 10 11 12
check "$T/s4" 1 2 3 4 5 6 7 8 9 10 11 12
[ "$(PXOS_STORE=$T/s4 "$PXOS" god ls | grep -c '^0x')" = 12 ] || fail "expected 12 keys"
cat "$T"/c*.txt | grep -c '^collision' || fail "no collisions with 4-bit keys"
echo "god_concurrency: all passed"
