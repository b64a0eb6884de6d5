#!/usr/bin/env bash
# mailbox_link_cli.sh: the host CLI reaching a running mailboxd (issue 13.7): `pxos run --mailbox`,
# `--shm`, `pxos hv run --mailbox`, `pxos mailbox status [--json]`, `pxos isa --host`; and the
# hostile cases: a FIFO, a directory, a missing / too small / non-mailbox / wrong-version file, a
# file no mailboxd serves, a stopped mailboxd (the call times out), a second mailboxd.
# `timeout -s KILL` is only a hang guard: nothing here waits for a time to pass.
set -euo pipefail
: "${PXOS:?}" "${PXOS_SOURCE_DIR:?}"
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; kill -CONT $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
prog=$PXOS_SOURCE_DIR/tests/mailbox/mailbox_hello.pxasm
f=$tmp/mb.bin; uart=$tmp/uart.txt
fail() { echo "FAIL: $*"; exit 1; }
wait_ready() { for _ in $(seq 400); do grep -q serving "$1" 2>/dev/null && return 0; sleep 0.05; done; fail "mailboxd did not start: $(cat "$1")"; }
# want_fail EXIT_STATUS GREP_TEXT -- command...: fails with that status and one line containing the text
want_fail() {
  local want=$1 text=$2; shift 3
  local rc=0; timeout -s KILL 60 "$@" >"$tmp/o" 2>"$tmp/e" || rc=$?
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want: $(cat "$tmp/e")"
  grep -qF -- "$text" "$tmp/e" || fail "$*: message lacks '$text': $(cat "$tmp/e")"
  [ "$(wc -l <"$tmp/e")" = 1 ] || fail "$*: more than one line: $(cat "$tmp/e")"
}

# 1. pxos run --mailbox: the program's host calls are served; its output on stdout, the UART's in --uart
"$PXOS" mailboxd --file "$f" --uart "$uart" 2>"$tmp/d1" & d=$!
wait_ready "$tmp/d1"
out=$(timeout -s KILL 60 "$PXOS" run --mailbox "$f" "$prog") || fail "run --mailbox: exit $?"
[ "$out" = "$(printf '2\n4\n7\n4')" ] || fail "run --mailbox output: $out"
[ "$(cat "$uart")" = "hi" ] || fail "mailboxd UART: $(cat "$uart")"
# --deny mailbox still denies it
want_fail 8 "needs capability 'mailbox'" -- "$PXOS" run --mailbox "$f" --deny mailbox "$prog"

# 2. pxos mailbox status: header, rings, counters; --json through nlohmann, every register by name
"$PXOS" mailbox status "$f" >"$tmp/st" || fail "status exit $?"
grep -q "served by pid $d" "$tmp/st" || fail "status: $(cat "$tmp/st")"
grep -q "^status  *0x00000004 COMPLETE" "$tmp/st" || fail "status line: $(cat "$tmp/st")"
grep -q "^rings .*SQ head 0 tail 0" "$tmp/st" || fail "rings: $(cat "$tmp/st")"
grep -Eq "^counters +served [1-9]" "$tmp/st" || fail "counters: $(cat "$tmp/st")"
"$PXOS" mailbox status "$f" --json >"$tmp/js" || fail "status --json exit $?"
python3 - "$tmp/js" "$d" <<'PY' || fail "status --json: $(cat "$tmp/js")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["served_by"] == int(sys.argv[2]), j["served_by"]
r = j["registers"]
assert r["MAGIC"] == 0x424D5850 and r["VERSION"] == 2 and r["SIZE"] == 1048576, r
assert r["SERVED"] >= 5 and r["DOORBELL"] == 0 and "SQ_HEAD" in r and "HEARTBEAT" in r, r
assert j["rings"]["sq_pending"] == 0 and j["rings"]["sq_corrupt"] is False, j["rings"]
PY

# 3. a second mailboxd on the served file is refused (InUse, 21), touching nothing
want_fail 21 "is already served by pid $d" -- "$PXOS" mailboxd --file "$f"

# 4. pxos hv run --mailbox: an archive entry granted the mailbox capability by the operator
mkdir -p "$tmp/arc"
cp "$prog" "$tmp/arc/main.pxasm"
cat >"$tmp/arc/manifest.json" <<'JSON'
{"name": "mbhello", "version": "1.0.0", "entrypoints": {"default": "main:start"},
 "runtime": {"vm_version": ">=1", "capabilities": ["mailbox"]}}
JSON
"$PXOS" archive create "$tmp/mb.pxa" "$tmp/arc" >/dev/null 2>"$tmp/ae" || fail "archive create: $(cat "$tmp/ae")"
out=$(timeout -s KILL 60 "$PXOS" hv run "$tmp/mb.pxa" --grant mailbox --mailbox "$f") || fail "hv run --mailbox: exit $?"
[ "$out" = "$(printf '2\n4\n7\n4')" ] || fail "hv run --mailbox output: $out"
want_fail 15 "mailbox not connected" -- "$PXOS" hv run "$tmp/mb.pxa" --grant mailbox

# 5. a stopped mailboxd: the host call waits --mailbox-timeout-ms, then a clear error (15), no hang
kill -STOP "$d"
want_fail 15 "within the timeout" -- "$PXOS" run --mailbox "$f" --mailbox-timeout-ms 200 "$prog"
kill -CONT "$d"
kill -TERM "$d"; wait "$d" || fail "mailboxd exit after SIGTERM"

# 6. the file is left behind with MAGIC, nobody serves it: refused at once, before any instruction
want_fail 15 "no mailboxd serves it" -- "$PXOS" run --mailbox "$f" "$prog"
"$PXOS" mailbox status "$f" | grep -q "served by none" || fail "status of an unserved file"

# 7. --shm NAME: the same through POSIX shared memory
shm=pxos-test-$$
"$PXOS" mailboxd --shm "$shm" --uart "$tmp/uart_shm" 2>"$tmp/d2" & d=$!
wait_ready "$tmp/d2"
out=$(timeout -s KILL 60 "$PXOS" run --shm "$shm" "$prog") || fail "run --shm: exit $?"
[ "$out" = "$(printf '2\n4\n7\n4')" ] || fail "run --shm output: $out"
"$PXOS" mailbox status --shm "$shm" | grep -q "served by pid $d" || fail "status --shm"
kill -TERM "$d"; wait "$d" || true
rm -f "/dev/shm/$shm"
want_fail 11 "no such shared memory object" -- "$PXOS" run --shm "$shm" "$prog"

# 8. hostile files: each one line naming the file, non-zero, nothing created or changed
want_fail 11 "no such mailbox file" -- "$PXOS" run --mailbox "$tmp/absent" "$prog"
[ ! -e "$tmp/absent" ] || fail "a client created the mailbox file"
mkfifo "$tmp/fifo"
want_fail 15 "not a regular file (a FIFO)" -- "$PXOS" run --mailbox "$tmp/fifo" "$prog"
want_fail 15 "not a regular file (a FIFO)" -- "$PXOS" mailbox status "$tmp/fifo"
mkdir "$tmp/dir"
want_fail 15 "not a regular file (a directory)" -- "$PXOS" run --mailbox "$tmp/dir" "$prog"
head -c 4096 /dev/zero >"$tmp/small"
want_fail 15 "small: size 4096 outside" -- "$PXOS" run --mailbox "$tmp/small" "$prog"
head -c 1048576 /dev/urandom >"$tmp/junk"; sum=$(sha256sum <"$tmp/junk")
want_fail 15 "no mailbox MAGIC at offset 0x10" -- "$PXOS" run --mailbox "$tmp/junk" "$prog"
want_fail 15 "no mailbox MAGIC" -- "$PXOS" mailbox status "$tmp/junk"
[ "$(sha256sum <"$tmp/junk")" = "$sum" ] || fail "the junk file was changed"
cp "$f" "$tmp/v9"; printf '\x09\x00\x00\x00' | dd of="$tmp/v9" bs=1 seek=20 conv=notrunc status=none
want_fail 15 "protocol version 9 at offset 0x14" -- "$PXOS" run --mailbox "$tmp/v9" "$prog"
want_fail 2 "give one of them" -- "$PXOS" run --mailbox "$f" --shm x "$prog"
want_fail 2 "give FILE or --shm NAME" -- "$PXOS" mailbox status

# 9. pxos isa --host: the host-call table the docs point to
"$PXOS" isa --host >"$tmp/isa"
grep -Eq "^ +6  mailbox +mailbox +\( cmd -- status resp \)" "$tmp/isa" || fail "isa --host: $(cat "$tmp/isa")"
grep -Eq "^  gpu " "$tmp/isa" || fail "isa --host lacks the capabilities"
echo "mailbox_link_cli: all cases passed"
