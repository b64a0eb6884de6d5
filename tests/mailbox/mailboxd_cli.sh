#!/usr/bin/env bash
# mailboxd_cli.sh: the real `pxos mailboxd` process against a real client (mbclient): UART
# output to --uart, HALT exits 0 with the stats table, SIGTERM exits 0, bad inputs give one
# line and a non-zero exit, a daemon killed with -9 and restarted keeps serving a live area;
# issue 19.5: a file truncated while served, a second daemon on a served file, a file that is
# not a mailbox (left byte-identical unless --force), a FIFO/directory/device.
# `timeout -s KILL 60` is only a hang guard: nothing here waits for a time to pass.
set -euo pipefail
MB=${MBCLIENT:?}; : "${PXOS:?}"
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
f=$tmp/mb.bin; uart=$tmp/uart.txt
fail() { echo "FAIL: $*"; exit 1; }
wait_ready() { for _ in $(seq 200); do [ -s "$2" ] && grep -q serving "$2" && return 0; sleep 0.05; done; fail "mailboxd did not start: $(cat "$2")"; }

# 1. serve a new file, UART to a file, commands, HALT -> exit 0 with stats
"$PXOS" mailboxd --file "$f" --uart "$uart" >"$tmp/out1" 2>"$tmp/err1" & pid=$!
wait_ready "$pid" "$tmp/err1"
[ "$(stat -c %s "$f")" = 1048576 ] || fail "file not 1 MiB"
"$MB" --file "$f" puts "hello from the ring-0 side" || fail "puts"
"$MB" --file "$f" call 0x80 0x0a 0 0 >/dev/null || fail "uart newline"
[ "$("$MB" --file "$f" call 0x85 3 40 2)" = "0x00000004 0x0000002a 0x00000000" ] || fail "SYSCALL ADD"
[ "$("$MB" --file "$f" call 0x87 0 0x12345 0)" = "0x80000006 0x00000000 0x00000000" ] || fail "FREE of junk must be BAD_FREE"
[ "$("$MB" --file "$f" call 0x42 0 0 0)" = "0x80000001 0x00000000 0x00000000" ] || fail "unknown opcode"
[ "$("$MB" --file "$f" ring 1000)" = 1000 ] || fail "ring"
"$MB" --file "$f" call 0x8f 0 0 0 >/dev/null || fail "HALT"
wait "$pid" || fail "mailboxd exit status $? after HALT"
[ "$(cat "$uart")" = "hello from the ring-0 side" ] || fail "uart file: $(cat "$uart")"
grep -q "UART_WRITE" "$tmp/err1" || fail "no stats table at exit"
grep -q "fault BAD_FREE" "$tmp/err1" || fail "fault not reported"
[ ! -s "$tmp/out1" ] || fail "stdout not clean with --uart"

# 2. UART to stdout by default; SIGTERM exits 0; --stats-every prints while running
"$PXOS" mailboxd --file "$f" --stats-every 0.2 >"$tmp/out2" 2>"$tmp/err2" & pid=$!
wait_ready "$pid" "$tmp/err2"
"$MB" --file "$f" call 0x80 0x41 0 0 >/dev/null
sleep 0.5
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM exit status"
[ "$(cat "$tmp/out2")" = "A" ] || fail "stdout uart"
[ "$(grep -c 'served' "$tmp/err2")" -ge 2 ] || fail "--stats-every printed nothing"

# 3. killed (-9) with a command rung, restarted under the live client: the command is served
"$PXOS" mailboxd --file "$f" --quiet --uart "$tmp/uart3" 2>"$tmp/err3" & pid=$!
sleep 0.3
epoch0=$("$MB" --file "$f" header | cut -d' ' -f1)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
"$MB" --file "$f" call 0x85 2 7 9 >"$tmp/late" 2>&1 & cpid=$!   # waits for an answer
sleep 0.2
"$PXOS" mailboxd --file "$f" --quiet --uart "$tmp/uart3" 2>>"$tmp/err3" & pid=$!
wait "$cpid" || fail "client lost across the restart: $(cat "$tmp/late")"
[ "$(cat "$tmp/late")" = "0x00000004 0x00000007 0x00000009" ] || fail "restart reply $(cat "$tmp/late")"
epoch1=$("$MB" --file "$f" header | cut -d' ' -f1)
[ "$epoch1" -gt "$epoch0" ] || fail "EPOCH did not advance"
"$MB" --file "$f" call 0x8f 0 0 0 >/dev/null; wait "$pid"

# 4. bad inputs: one line naming the file, non-zero exit, nothing created half-way
head -c 1000 /dev/zero >"$tmp/small"
if "$PXOS" mailboxd --file "$tmp/small" 2>"$tmp/e4"; then fail "small file accepted"; fi
grep -q "small: size 1000" "$tmp/e4" || fail "message: $(cat "$tmp/e4")"
[ "$(wc -l <"$tmp/e4")" = 1 ] || fail "more than one line"
if "$PXOS" mailboxd --file "$f" --mmio-window junk 2>"$tmp/e5"; then fail "bad window accepted"; fi
grep -q "mmio-window" "$tmp/e5" || fail "window message"
if "$PXOS" mailboxd 2>"$tmp/e6"; then fail "no --file/--shm accepted"; fi

# 5. a second mailboxd on a served file exits InUse (21) naming the first one's pid; the first
#    keeps serving, alone: a command runs once
"$PXOS" mailboxd --file "$f" --uart "$tmp/uart5" 2>"$tmp/err5" & pid=$!
wait_ready "$pid" "$tmp/err5"
rc=0; timeout -s KILL 60 "$PXOS" mailboxd --file "$f" --uart "$tmp/uart5" 2>"$tmp/e5b" || rc=$?
[ "$rc" = 21 ] || fail "second mailboxd: exit status $rc (137: it kept serving): $(cat "$tmp/e5b")"
[ "$(cat "$tmp/e5b")" = "pxos: $f is already served by pid $pid" ] || fail "second mailboxd said: $(cat "$tmp/e5b")"
"$MB" --file "$f" call 0x80 0x42 0 0 >/dev/null || fail "uart after the refused second daemon"
"$MB" --file "$f" call 0x8f 0 0 0 >/dev/null; wait "$pid" || fail "first mailboxd exit status"
[ "$(cat "$tmp/uart5")" = "B" ] || fail "the command ran more than once: uart '$(cat "$tmp/uart5")'"

# 6. the served file truncated to 0 under a spinning mailboxd (the next access faults: SIGBUS),
#    then shrunk past the header under a sleeping one (the size check after a sleep): exit 15
#    (MailboxError) with one line naming the file, never a SIGBUS death (135)
g=$tmp/shrink.bin
timeout -s KILL 60 "$PXOS" mailboxd --file "$g" --spin-us 600000000 --quiet 2>"$tmp/e6" & pid=$!
for _ in $(seq 1200); do [ "$(od -An -tx4 -j16 -N4 "$g" 2>/dev/null | tr -d ' ')" = 424d5850 ] && break; sleep 0.05; done
truncate -s 0 "$g"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 15 ] || fail "truncated while spinning: exit status $rc (135: SIGBUS, 137: hang guard): $(cat "$tmp/e6")"
[ "$(cat "$tmp/e6")" = "pxos: mailboxd: $g shrank to 0 bytes while served (needs 1048576); stopping" ] ||
  fail "truncated while spinning said: $(cat "$tmp/e6")"
timeout -s KILL 60 "$PXOS" mailboxd --file "$g" --spin-us 0 --max-sleep-us 1000 2>"$tmp/e7" & pid=$!
wait_ready "$pid" "$tmp/e7"
truncate -s 65536 "$g"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 15 ] || fail "shrunk while sleeping: exit status $rc: $(cat "$tmp/e7")"
[ "$(grep -c . "$tmp/e7")" = 2 ] || fail "more than the start-up line and one error: $(cat "$tmp/e7")"
grep -qx "pxos: mailboxd: $g shrank to 65536 bytes while served (needs 1048576); stopping" "$tmp/e7" ||
  fail "shrunk while sleeping said: $(cat "$tmp/e7")"

# 7. an existing file that is not a mailbox: refused with one line, byte-identical afterwards
#    (also with data only far from the header); --force serves it
j=$tmp/junk.bin
{ printf 'precious data, not a mailbox\n'; head -c $((1048576 - 29)) /dev/zero; } >"$j"; cp "$j" "$tmp/junk.orig"
rc=0; timeout -s KILL 60 "$PXOS" mailboxd --file "$j" 2>"$tmp/e8" || rc=$?
[ "$rc" = 15 ] || fail "non-mailbox file: exit status $rc"
[ "$(wc -l <"$tmp/e8")" = 1 ] || fail "non-mailbox file: not one line: $(cat "$tmp/e8")"
grep -q "$j: not a mailbox (no MAGIC 0x424D5850 at offset 0x10: found 0x6120746f; first non-zero byte 0x70 at offset 0)" "$tmp/e8" ||
  fail "non-mailbox message: $(cat "$tmp/e8")"
grep -q -- "--force" "$tmp/e8" || fail "the message does not mention --force"
cmp -s "$j" "$tmp/junk.orig" || fail "the refused file was modified"
k=$tmp/deep.bin
{ head -c 524288 /dev/zero; printf 'x'; head -c $((524288 - 1)) /dev/zero; } >"$k"; cp "$k" "$tmp/deep.orig"
if timeout -s KILL 60 "$PXOS" mailboxd --file "$k" 2>"$tmp/e8b"; then fail "file with data at 512 KiB accepted"; fi
grep -q "first non-zero byte 0x78 at offset 524288" "$tmp/e8b" || fail "deep message: $(cat "$tmp/e8b")"
cmp -s "$k" "$tmp/deep.orig" || fail "the refused deep file was modified"
timeout -s KILL 60 "$PXOS" mailboxd --file "$j" --force 2>"$tmp/e9" & pid=$!
wait_ready "$pid" "$tmp/e9"
"$MB" --file "$j" call 0x8f 0 0 0 >/dev/null; wait "$pid" || fail "--force: exit status"
cmp -s "$j" "$tmp/junk.orig" && fail "--force did not serve the file"

# 8. a FIFO, a directory, a character device: one line naming what it is, no hang
mkfifo "$tmp/fifo"; mkdir "$tmp/dir"
for spec in "$tmp/fifo|a FIFO" "$tmp/dir|a directory" "/dev/null|a character device"; do
  p=${spec%%|*}; kind=${spec#*|}
  rc=0; timeout -s KILL 60 "$PXOS" mailboxd --file "$p" 2>"$tmp/e10" || rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 137 ] || fail "$p: exit status $rc"
  [ "$(cat "$tmp/e10")" = "pxos: $p: is $kind, not a regular file" ] || fail "$p said: $(cat "$tmp/e10")"
done
[ -p "$tmp/fifo" ] && [ -d "$tmp/dir" ] || fail "a refused path was replaced"
echo "mailboxd_cli: ok"
