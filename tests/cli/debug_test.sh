#!/usr/bin/env bash
# debug_test.sh: `pxos debug` and `pxos repl` through the real binary. Each debug_cases/*.cmds is
# a scripted session on debug_cases/prog.pxasm whose transcript (stdout) must equal its .expected
# (a "# expect exit: N" line sets the status, else 0); each *.repl is fed to `pxos repl` on stdin
# likewise. Then: the same session from a .pxi and from a piped stdin, and the bad inputs (a
# missing program, a PNG that is not one, a commands FIFO, a missing commands file).
set -uo pipefail
PXOS=${PXOS:?}; SRC=${PXOS_SOURCE_DIR:?}
D=tests/cli/debug_cases  # relative, as the transcripts name it (ctest runs in the source tree)
cd "$SRC"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

# same NAME EXPECTED_FILE WANT_RC RC: the transcript in $T/out equals the file, the status WANT_RC,
# and stderr holds at most the one summary line of failed commands
same() {
  local name=$1 exp=$2 want=$3 rc=$4
  if ! diff -u "$exp" "$T/out" >"$T/diff"; then bad "$name: transcript differs:"; head -40 "$T/diff"; return; fi
  [ "$rc" = "$want" ] || { bad "$name: exit $rc, want $want"; return; }
  if [ "$want" = 0 ]; then [ -s "$T/err" ] && { bad "$name: stderr: $(cat "$T/err")"; return; }
  else [ "$(wc -l <"$T/err")" = 1 ] && grep -q "failed" "$T/err" || { bad "$name: stderr: $(cat "$T/err")"; return; }; fi
  ok
}
want_rc() { grep -m1 -oP '^[#;] expect exit: \K[0-9]+' "$1" || echo 0; }

for f in "$D"/*.cmds; do
  "$PXOS" debug "$D/prog.pxasm" --commands "$f" >"$T/out" 2>"$T/err"; rc=$?
  same "$(basename "$f")" "${f%.cmds}.expected" "$(want_rc "$f")" $rc
done
for f in "$D"/*.repl; do
  "$PXOS" repl <"$f" >"$T/out" 2>"$T/err"; rc=$?
  same "$(basename "$f")" "${f%.repl}.expected" "$(want_rc "$f")" $rc
done

# a .pxi names its .pxasm source: the same session, source lines included
"$PXOS" asm "$D/prog.pxasm" -o "$T/prog.pxi" || bad "asm"
"$PXOS" debug "$T/prog.pxi" --commands "$D/break_label.cmds" >"$T/out" 2>"$T/err"; rc=$?
same "break_label from .pxi" "$D/break_label.expected" 0 $rc
# commands on a piped stdin: the same transcript (errors would say <stdin>:N)
"$PXOS" debug "$D/prog.pxasm" <"$D/watch.cmds" >"$T/out" 2>"$T/err"; rc=$?
same "watch on stdin" "$D/watch.expected" 0 $rc
"$PXOS" debug "$D/prog.pxasm" <<<"frobnicate" >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -qx "<stdin>:1: error: unknown command 'frobnicate' ('help' lists them)" "$T/out" && ok || bad "stdin error line: rc $rc: $(cat "$T/out")"

# expect_fail NAME NEEDLE CMD...: non-zero exit, one stderr line containing NEEDLE, no stdout
expect_fail() {
  local name=$1 needle=$2; shift 2
  timeout 20 "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then bad "$name: exit $rc"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then bad "$name: stderr not one line: $(cat "$T/err")"; return; fi
  grep -qF -- "$needle" "$T/err" || { bad "$name: stderr lacks '$needle': $(cat "$T/err")"; return; }
  [ -s "$T/out" ] && { bad "$name: wrote to stdout: $(cat "$T/out")"; return; }
  ok
}
expect_fail missing-program "$T/nope.pxasm" "$PXOS" debug "$T/nope.pxasm" --commands "$D/trap.cmds"
"$PXOS" view "$T/prog.pxi" -o "$T/view.png" >/dev/null || bad "view"
expect_fail png-not-a-program "view.png" "$PXOS" debug "$T/view.png" --commands "$D/trap.cmds"
printf 'not an image' >"$T/junk.pxi"
expect_fail junk-program "junk.pxi" "$PXOS" debug "$T/junk.pxi"
expect_fail missing-commands "$T/none.cmds" "$PXOS" debug "$D/prog.pxasm" --commands "$T/none.cmds"
mkfifo "$T/fifo"
expect_fail commands-fifo "$T/fifo" "$PXOS" debug "$D/prog.pxasm" --commands "$T/fifo"
expect_fail commands-dir "$T" "$PXOS" repl --commands "$T"
expect_fail bad-memory "--memory-words" "$PXOS" debug "$D/prog.pxasm" --memory-words 0

# a closed pipe ends the session and its endless program (quietly, exit 3), never a hang
printf 'top: PUSH 1\nPRINT\nJMP top\n' >"$T/loop.pxasm"
timeout 20 "$PXOS" debug "$T/loop.pxasm" <<<"run" 2>"$T/err" | head -c 100 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" = 3 ] && [ ! -s "$T/err" ] && ok || bad "closed pipe: exit $rc: $(cat "$T/err")"
# a full disk under the transcript: one line on stderr, non-zero, no hang
if [ -w /dev/full ]; then
  timeout 20 "$PXOS" debug "$T/loop.pxasm" <<<"run" >/dev/full 2>"$T/err"; rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$(wc -l <"$T/err")" = 1 ] && ok || bad "full disk: exit $rc: $(cat "$T/err")"
fi

# Ctrl-C stops a spinning program where it is and the session goes on (sent once the session has
# echoed `run`, so the handler is in place whatever the load)
printf 'top: PUSH 1\nPOP\nJMP top\n' >"$T/spin.pxasm"
printf 'run\nbt\nquit\n' >"$T/spin.cmds"
"$PXOS" debug "$T/spin.pxasm" --commands "$T/spin.cmds" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 200); do grep -q '^(pxdb) run$' "$T/out" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
[ $rc = 0 ] && grep -q '^Interrupted$' "$T/out" && grep -q '^#0  0x000[056] top' "$T/out" && grep -q '^(pxdb) quit$' "$T/out" && ok \
  || bad "ctrl-c: exit $rc: $(cat "$T/out" "$T/err")"

echo "debug_test: $pass passed, $fail failed"
[ $fail -eq 0 ]
