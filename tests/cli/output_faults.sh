#!/usr/bin/env bash
# output_faults.sh: SQLite-style fault injection over every -o output and `archive create` (issue
# 19.3/19.4): make call N of write, fsync, rename, link or open fail, for N = 1, 2, ... until the
# command succeeds. After each failure the old output is byte-identical (or still absent) and no
# temp file is left; the final success writes exactly the bytes of an undisturbed run.
set -uo pipefail
PXOS=${PXOS:?}; SRC=${PXOS_SOURCE_DIR:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export PXOS_STORE="$T/store"
pass=0; fail=0
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

"$PXOS" asm "$SRC/examples/fib.pxasm" -o "$T/fib.pxi" >/dev/null || bad "setup: asm"
"$PXOS" god create "$T/fib.pxi" -o "$T/key.png" >/dev/null || bad "setup: god create"
head -c 5000 /dev/urandom >"$T/blob"

outputs=(
  "asm|asm $SRC/examples/fib.pxasm -o @OUT@"
  "pack|pack $T/blob -o @OUT@"
  "unpack|unpack $T/fib.pxi -o @OUT@"
  "view|view $T/fib.pxi --scale 2 -o @OUT@"
  "cart-make|cart make $T/fib.pxi -o @OUT@"
  "heatmap|run $T/fib.pxi --heatmap @OUT@"
  "god-resurrect|god resurrect $T/key.png -o @OUT@"
  "god-bootstrap|god bootstrap $T/fib.pxi -o @OUT@"
  "archive-create|archive create @OUT@ $SRC/examples/demo-archive"
)
run_out() {  # run_out SPEC OUT: the spec's command with OUT substituted
  local cmd=${1#*|}; cmd=${cmd//@OUT@/$2}
  # shellcheck disable=SC2086
  timeout 20 "$PXOS" $cmd >/dev/null 2>"$T/err"
}
leftovers() { find "$1" -maxdepth 1 -name '.*.tmp.*' | head -1; }

for spec in "${outputs[@]}"; do
  name=${spec%%|*}
  mkdir -p "$T/ref" && run_out "$spec" "$T/ref/$name" || bad "$name: undisturbed run failed: $(cat "$T/err")"
  for op in write fsync rename link open; do
    for state in absent present; do
      d="$T/w.$name.$op.$state"; mkdir -p "$d"; out="$d/out"
      [ $state = present ] && printf 'old contents\n' >"$out"
      n=1
      while :; do
        PXOS_FAULT=$op:$n run_out "$spec" "$out"; rc=$?
        [ $rc -eq 124 ] && { bad "$name $op:$n ($state): hung"; break; }
        [ $rc -gt 128 ] && { bad "$name $op:$n ($state): died of signal $((rc-128))"; break; }
        [ -n "$(leftovers "$d")" ] && bad "$name $op:$n ($state): temp file left: $(leftovers "$d")"
        if [ $rc -eq 0 ]; then
          cmp -s "$out" "$T/ref/$name" || bad "$name $op:$n ($state): success but different bytes"
          break
        fi
        [ "$(wc -l <"$T/err")" -eq 1 ] || bad "$name $op:$n ($state): stderr not one line: $(cat "$T/err")"
        # A failure after the rename/link (the directory's fsync) leaves the complete new file:
        # never a half-written one. Anything else must leave the old state.
        if [ -e "$out" ] && cmp -s "$out" "$T/ref/$name"; then :
        elif [ $state = present ]; then
          [ "$(cat "$out")" = "old contents" ] || { bad "$name $op:$n ($state): the old output was damaged"; break; }
        else
          [ -e "$out" ] && { bad "$name $op:$n ($state): a failed run left a partial output"; break; }
        fi
        n=$((n+1))
        [ $n -gt 40 ] && { bad "$name $op: still failing at call 40"; break; }
      done
      pass=$((pass+1))
    done
  done
done
echo "output_faults: $pass loops passed, $fail failures"
[ $fail -eq 0 ]
